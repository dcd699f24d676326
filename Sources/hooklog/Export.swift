import ArgumentParser
import Dispatch
import HooklogStore

#if canImport(Glibc)
import Glibc
#endif

extension Hooklog {
    /// Writes matching events to an NDJSON file.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write matching events to an NDJSON file (gzip-compressed when it ends in .gz).",
            discussion: """
                Lines are what `hooklog query --format ndjson` prints, in seq order. The file is written \
                under a temporary name and renamed when complete: an interrupted export leaves nothing \
                half-written. Progress with rate and ETA goes to standard error on a terminal.

                Examples:
                  hooklog export --output all.ndjson.gz
                  hooklog export --account shop --since 30d --output shop-last-month.ndjson
                """)

        @OptionGroup var options: DataOptions
        @OptionGroup var filters: FilterOptions

        @Option(name: .shortAndLong, help: ArgumentHelp("The file to write; .gz compresses.", valueName: "FILE"))
        var output: String

        func run() async throws {
            let filter = try filters.filter(now: RFC3339.nowMicros())
            let snapshot: ArchiveSnapshot
            let file: ExportFile
            do {
                snapshot = try ArchiveReader(directory: options.directory).snapshot()
                file = try ExportFile(path: output)
            } catch {
                fail(error)
            }
            let cleanup = Self.removeOnInterrupt(file.temporaryPath)
            defer { cleanup.cancel() }
            let onTerminal = isatty(2) != 0
            let start = RFC3339.nowMicros()
            var lastReport = start
            var count = 0
            var line: [UInt8] = []
            let span = Double(max(1, snapshot.endSeq - snapshot.firstSeq))
            do {
                try snapshot.forEachView(matching: filter, onDamage: { warn($0.message) }) { e in
                    line.removeAll(keepingCapacity: true)
                    e.appendNDJSON(to: &line)
                    line.append(0x0A)
                    try file.write(line)
                    count += 1
                    if onTerminal, count % 4096 == 0 {
                        let now = RFC3339.nowMicros()
                        if now - lastReport > 250_000 {
                            lastReport = now
                            let done = Double(e.seq - snapshot.firstSeq) / span
                            let seconds = Double(now - start) / 1e6
                            let eta = done > 0 ? seconds / done - seconds : 0
                            let text = "\r\(count) events, \(Int(Double(count) / max(seconds, 0.001)))/s, \(Int(done * 100))%, ETA \(Int(eta))s  "
                            _ = text.withCString { write(2, $0, strlen($0)) }
                        }
                    }
                    return true
                }
                try file.commit()
            } catch {
                file.discard()
                if onTerminal { _ = "\n".withCString { write(2, $0, 1) } }
                fail(error)
            }
            if onTerminal { _ = "\r\u{1B}[K".withCString { write(2, $0, strlen($0)) } }
            let summary = "exported \(count) events to \(output) (\(file.bytesWritten) bytes)\n"
            _ = summary.withCString { write(2, $0, strlen($0)) }
        }

        /// On Ctrl-C or SIGTERM, removes the partial file before exiting, so nothing half-written stays.
        static func removeOnInterrupt(_ path: String?) -> any DispatchSourceSignal {
            let sources = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler {
                    if let path { unlink(path) }
                    Glibc.exit(130)
                }
                source.resume()
                return source
            }
            return sources[0]
        }
    }
}
