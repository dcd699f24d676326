import Foundation
import HooklogStore
import Testing

/// Runs the built `hooklog` binary, as a user would.
struct CLI {
    static let binary: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".build/debug/hooklog").path
    }()

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// - Parameter stdoutPath: where standard output goes (`/dev/full`, say) instead of a file read back.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], stdoutPath: String? = nil
    ) throws -> Output {
        try run(executable: binary, arguments, environment: environment, stdoutPath: stdoutPath)
    }

    /// Runs `executable` (the binary, or a wrapper such as `timeout(1)` that runs it) to its end.
    static func run(
        executable: String, _ arguments: [String], environment: [String: String] = [:], stdoutPath: String? = nil
    ) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        // Files, not pipes: Foundation's pipe reads trap on EINTR, and a file never fills up.
        let outPath = tempPath() + ".out"
        let errPath = tempPath() + ".err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath ?? outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self),
            stderr: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self))
    }
}

func tempPath() -> String { NSTemporaryDirectory() + "hooklog-cli-" + UUID().uuidString }

@Suite(.serialized) struct CLITests {
    @Test func anotherProcessSeesEveryAcknowledgedEventWhileTheWriterIsOpen() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ArchiveStore.open(directory: dir)
        for round in 1...3 {
            let events = (0..<(round * 10)).map { i in
                NewEvent(
                    account: "acct", source: "orderspace", type: "order.updated", entity: "or_\(i)", refs: [], id: nil,
                    payload: Array("{\"n\":\(i)}".utf8))
            }
            _ = try await store.append(events)
            let total = (1...round).reduce(0) { $0 + $1 * 10 }
            let stats = try CLI.run(["stats", "--data", dir])
            #expect(stats.status == 0, "\(stats.stderr)")
            #expect(stats.stdout.contains("events: \(total) "), "\(stats.stdout)")
            #expect(stats.stdout.contains("account acct: \(total)"))
        }
        store.close()
    }

    @Test func demoRunsTwiceAndRecognisesTheRetry() throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try CLI.run(["demo"], environment: ["HOOKLOG_DATA": dir])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("appended 6 events durably: seq 1...6"))
        #expect(first.stdout.contains("dispatch.created  di_demo"))
        let second = try CLI.run(["demo", "--data", dir])
        #expect(second.stdout.contains("appended nothing: the batch is a retry"))
        #expect(try CLI.run(["stats", "--data", dir]).stdout.contains("events: 6 "))
    }

    @Test func errorsAreOneLineWithExitCodes() throws {
        let missing = try CLI.run(["stats", "--data", "/nonexistent/hooklog"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("hooklog: no archive at /nonexistent/hooklog"))
        #expect(missing.stderr.split(separator: "\n").count == 1)
        let usage = try CLI.run(["stats", "--bogus"])
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("--bogus"))
        let help = try CLI.run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("demo") && help.stdout.contains("stats"))
    }

    /// `query` is parsed on its own first (a faster start); help, bad usage and failures must come out
    /// exactly as through the whole command tree.
    @Test func queryHelpAndErrorsAreThoseOfTheWholeCommand() throws {
        let help = try CLI.run(["query", "--help"])
        #expect(
            help.status == 0 && help.stdout.contains("USAGE: hooklog query") && help.stdout.contains("--entity"),
            "\(help.stdout)")
        let usage = try CLI.run(["query", "--bogus"])
        #expect(
            usage.status == 2 && usage.stderr.hasPrefix("hooklog: ") && usage.stderr.contains("--bogus")
                && usage.stderr.contains("see 'hooklog --help'"), "\(usage.stderr)")
        let badTime = try CLI.run(["query", "--since", "yesterday-ish", "--data", "/nonexistent/hooklog"])
        #expect(badTime.status == 2 && badTime.stderr.contains("--since 'yesterday-ish'"), "\(badTime.stderr)")
        let missing = try CLI.run(["query", "--data", "/nonexistent/hooklog"])
        #expect(
            missing.status == 1 && missing.stderr.hasPrefix("hooklog: no archive at /nonexistent/hooklog"),
            "\(missing.stderr)")
    }
}
