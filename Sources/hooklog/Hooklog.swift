import ArgumentParser
import HooklogStore

#if canImport(Glibc)
import Glibc
#endif

/// The `hooklog` command: a self-hosted archive for webhook events. `main.swift` starts it.
struct Hooklog: AsyncParsableCommand {
    /// The release this build is: `CHANGELOG.md` says what each one changed.
    static let version = "0.1.0-dev"

    static let configuration = CommandConfiguration(
        abstract: "A self-hosted archive for webhook events: keep every delivery, find it, send it again.",
        discussion: """
            Data lives in one directory: --data DIR, else $HOOKLOG_DATA, else ./hooklog-data.
            Start with `hooklog serve`: it creates a 'default' account and prints its webhook URLs. \
            Then `hooklog query --ref ORDER-ID` finds an order's whole story.
            """,
        version: version,
        subcommands: [
            Serve.self, AccountCommand.self, SourceCommand.self, AdminTokenCommand.self, Query.self, Export.self,
            Replay.self, Stats.self,
            Check.self, Demo.self,
        ]
    )

    /// Runs a plain `query` synchronously and ends the process. Returns, having done nothing, for any
    /// other command line: another command, `--follow`, or flags the fast reader does not take
    /// (`Query.Request.init?(fastParsing:)`).
    ///
    /// Why a synchronous path: an async `main` hands the main thread to Dispatch, which ends it with
    /// `pthread_exit`, and that unwinds the thread's stack. In the fully static release binary (see
    /// `tools/build-release`) the first unwind makes libgcc sort every frame description of the
    /// 160 MB binary: 90 ms of CPU before the first line of a query.
    static func runQueryIfPlain(_ arguments: [String]) {
        guard arguments.first == "query", let request = Query.Request(fastParsing: Array(arguments.dropFirst())),
            !request.follow
        else { return }
        do {
            _ = try request.printExisting()
        } catch {
            exit(for: error)
        }
        Glibc.exit(0)
    }

    /// Runs the command, with the contract's exit codes: 1 for a failure, 2 for bad usage (the parser's
    /// own default is 64).
    static func main() async {
        do {
            // `query`, what users and scripts run most, is read by a small parser of its own when it can
            // be (see `Query.Request.init?(fastParsing:)`), else parsed on its own before the whole
            // command tree is (building the tree made ArgumentParser look up protocol conformances of every
            // subcommand's types: 4.5 ms). Anything neither accepts (`--help`, a bad flag) goes through the
            // full parser below, which prints what it always printed.
            let arguments = Array(CommandLine.arguments.dropFirst())
            if arguments.first == "query" {
                let rest = Array(arguments.dropFirst())
                if let request = Query.Request(fastParsing: rest) {
                    try await request.run()
                    return
                }
                if let query = try? Query.parseAsRoot(rest) as? Query {
                    try await query.run()
                    return
                }
            }
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(for: error)
        }
    }

    /// Ends the process for an error: bad usage as one line and status 2, anything else as
    /// ArgumentParser prints it (status 1, or 0 for `--help` and `--version`).
    static func exit(for error: any Error) -> Never {
        if exitCode(for: error) == .validationFailure {
            // One line, as every error of the contract; `--help` has the rest.
            let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "bad usage"
            let message = Array("hooklog: \(text) (see 'hooklog --help')\n".utf8)
            _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            Glibc.exit(2)
        }
        exit(withError: error)
    }
}

/// The `--data` option every command shares.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The data directory.", valueName: "DIR"))
    var data: String?

    /// `--data`, else `$HOOKLOG_DATA`, else `./hooklog-data`.
    var directory: String { Self.directory(data) }

    /// `data` (a `--data` value), else `$HOOKLOG_DATA`, else `./hooklog-data`.
    static func directory(_ data: String?) -> String {
        if let data { return data }
        if let env = getenv("HOOKLOG_DATA"), let value = String(validatingCString: env), !value.isEmpty { return value }
        return "./hooklog-data"
    }
}

/// Prints a store error as one line on standard error and exits 1 (the contract's error shape).
func fail(_ error: any Error) -> Never {
    let message = (error as? StoreError)?.description ?? "\(error)"
    let line = Array("hooklog: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}
