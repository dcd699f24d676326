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

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("The file to write; .gz compresses; - is standard output.", valueName: "FILE"))
        var output: String

        @Option(
            help: ArgumentHelp(
                "Threads that decode and format (default: one per CPU, at most 4). Output is the same for any N.",
                valueName: "N"))
        var threads: Int?

        /// Seqs a formatting thread takes at a time (tests set it small to cut small archives in many chunks).
        @Option(help: .hidden)
        var chunkEvents: UInt64 = 16_384

        /// One per CPU, at most 4 (past that, writing and gzip are the limit).
        static var defaultThreads: Int { min(4, max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))) }

        func validate() throws {
            if let threads, threads < 1 || threads > 64 { throw ValidationError("--threads must be from 1 to 64") }
            if chunkEvents < 1 { throw ValidationError("--chunk-events must be at least 1") }
        }

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
            let span = Double(max(1, snapshot.endSeq - snapshot.firstSeq))
            let pipeline = ExportPipeline(
                snapshot: snapshot, filter: filter, threads: threads ?? Self.defaultThreads, chunkEvents: chunkEvents)
            do {
                try pipeline.run { chunk, upTo in
                    for message in chunk.damage { warn(message) }
                    if let error = chunk.error { throw error }
                    try file.write(chunk.buffer)
                    count += chunk.events
                    let now = RFC3339.nowMicros()
                    if onTerminal, now - lastReport > 250_000 {
                        lastReport = now
                        let done = Double(upTo - snapshot.firstSeq) / span
                        let seconds = Double(now - start) / 1e6
                        let eta = done > 0 ? seconds / done - seconds : 0
                        let text =
                            "\r\(count) events, \(Self.whole(Double(count) / max(seconds, 0.001)))/s, \(Self.whole(done * 100))%, ETA \(Self.whole(eta))s  "
                        _ = text.withCString { write(2, $0, strlen($0)) }
                    }
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

        /// `x` as a whole number for the progress line: `Int(x)` traps past `Int`'s range, and a damaged archive
        /// whose seqs span billions of billions makes the estimate that large.
        static func whole(_ x: Double) -> String {
            x.isFinite && abs(x) < 1e15 ? String(Int(x)) : "?"
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
