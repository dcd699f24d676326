import ArgumentParser
import HooklogStore

#if canImport(Glibc)
import Glibc
#endif

/// The `hooklog` command: a self-hosted archive for webhook events.
@main
struct Hooklog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A self-hosted archive for webhook events: keep every delivery, find it, send it again.",
        discussion: """
            Data lives in one directory: --data DIR, else $HOOKLOG_DATA, else ./hooklog-data.
            The HTTP server (`serve`) and `replay` are being built; today the archive \
            store can be tried with `hooklog demo`, searched with `hooklog query` and sized with `hooklog stats`.
            """,
        subcommands: [Query.self, Export.self, Stats.self, Check.self, Demo.self]
    )

    /// Runs the command, with the contract's exit codes: 1 for a failure, 2 for bad usage (the parser's
    /// own default is 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
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
}

/// The `--data` option every command shares.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The data directory.", valueName: "DIR"))
    var data: String?

    /// `--data`, else `$HOOKLOG_DATA`, else `./hooklog-data`.
    var directory: String {
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

/// RFC 3339 UTC with microseconds, as the contract prints `received_at`.
func rfc3339(micros: Int64) -> String {
    var seconds = time_t(micros / 1_000_000)
    var fraction = micros % 1_000_000
    if fraction < 0 {
        fraction += 1_000_000
        seconds -= 1
    }
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ v: Int32, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    let frac = String(fraction)
    return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
        + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
        + String(repeating: "0", count: 6 - frac.count) + frac + "Z"
}
