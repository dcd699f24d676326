import ArgumentParser
import HooklogStore

#if canImport(Glibc)
import Glibc
#endif

extension Hooklog {
    /// Verifies every checksum and index.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify every block checksum and every index against the log; --repair fixes what it can.",
            discussion: """
                Each problem is printed with its file and offset. Exit 0 when the archive is clean, 1 when \
                problems remain. --repair cuts a torn tail (the write in progress at a crash, never \
                acknowledged) and rebuilds missing, damaged or stale indexes; it needs the archive to \
                itself, so stop `hooklog serve` first. Frames damaged in sealed segments cannot be \
                restored: their events are reported lost and readers skip them.
                """)

        @OptionGroup var options: DataOptions

        @Flag(help: "Cut a torn tail and rebuild indexes.")
        var repair = false

        func run() async throws {
            let onTerminal = isatty(2) != 0
            let report: ArchiveCheck.Report
            do {
                report = try ArchiveCheck.run(directory: options.directory, repair: repair) { done, total in
                    if onTerminal {
                        let line = Array("\rchecking segment \(done)/\(total)".utf8)
                        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                    }
                }
            } catch {
                fail(error)
            }
            if onTerminal { _ = "\r\u{1B}[K".withCString { write(2, $0, 4) } }
            for r in report.repairs { print("repaired: \(r)") }
            for p in report.problems { print("problem: \(p)") }
            print(
                "\(report.segments) segments, \(report.frames) frames, \(report.events) events checked: \(report.isClean ? "clean" : "\(report.problems.count) problem(s)")"
            )
            if !report.isClean { throw ExitCode(1) }
        }
    }
}
