import ArgumentParser
import HooklogStore

#if canImport(Glibc)
import Glibc
#endif

extension Hooklog {
    /// Greps the archive.
    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find archived events: by account, type, entity, any ID they mention, time or text.",
            discussion: """
                Results come in seq order (newest first with --reverse; --reverse --limit N is the newest N). \
                No match is not an error: empty output, exit 0. Safe to run while `hooklog serve` writes: \
                it sees every acknowledged event.

                Examples:
                  hooklog query --ref or_k7m2q9xa              an order's own events, dispatches and invoices
                  hooklog query --type 'order.*' --since 2h --format table
                  hooklog query --entity MUG-STW-01 --reverse --limit 1 | jq .payload
                  hooklog query --account shop --follow        history, then each new event as it lands
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case ndjson, table, payload
        }

        @OptionGroup var options: DataOptions
        @OptionGroup var filters: FilterOptions

        @Option(help: "Stop after N events.")
        var limit: Int?

        @Flag(help: "Newest first.")
        var reverse = false

        @Flag(help: "After the history, print each new matching event as it is acknowledged (like tail -f).")
        var follow = false

        @Option(
            help: "ndjson (one JSON object a line, for jq), table (for a terminal) or payload (the bytes as received).")
        var format: Format = .ndjson

        func validate() throws {
            if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
            if follow && reverse { throw ValidationError("--follow cannot be combined with --reverse") }
        }

        func run() async throws {
            try await Request(
                directory: options.directory, filters: filters.values, limit: limit, reverse: reverse, follow: follow,
                format: format
            ).run()
        }

        /// What `query` was asked, whichever parser read the command line: ArgumentParser (`Query`'s
        /// properties) or the fast path for the common flags (`Request.init?(fastParsing:)`).
        struct Request: Equatable {
            var directory: String
            var filters: FilterValues
            var limit: Int?
            var reverse = false
            var follow = false
            var format: Format = .ndjson

            /// Prints the matching events; with `follow`, then every new one until interrupted.
            func run() async throws {
                var state = try printExisting()
                while true {
                    try await Task.sleep(for: .milliseconds(100))
                    if try state.printNew() { return }
                }
            }

            /// Prints the events that match now. Without `follow` (or once `limit` is reached) the process
            /// ends here: the common case is synchronous, so `main.swift` runs it before any async
            /// machinery starts. With `follow`, returns what `printNew` needs to go on.
            func printExisting() throws -> Following {
                let filter = try filters.filter(now: RFC3339.nowMicros())
                let out = StandardOutput()
                if format == .table {
                    out.append(
                        "SEQ       RECEIVED_AT                  ACCOUNT       SOURCE      TYPE                        ENTITY                REFS\n"
                    )
                }
                var printed = 0
                do {
                    let reader = try ArchiveReader(directory: directory)
                    // Only the segments that may hold a match are opened (the key summary); with
                    // `follow`, later looks take whole snapshots.
                    let snapshot = try reader.snapshot(for: filter)
                    try print(snapshot, filter, limit: limit, printed: &printed, out: out)
                    out.flush()
                    guard follow, limit.map({ printed < $0 }) ?? true else {
                        // Done: the process ends here rather than unmapping every segment's index one
                        // by one (about 1 ms of a query on a 10 M-event archive); exit does it at once.
                        Glibc.exit(0)
                    }
                    return Following(
                        request: self, reader: reader, filter: filter, out: out, printed: printed,
                        seenEnd: snapshot.endSeq)
                } catch let error as StoreError {
                    out.flush()
                    fail(error)
                }
            }

            /// What `--follow` carries from one look at the archive to the next.
            struct Following {
                let request: Request
                let reader: ArchiveReader
                let filter: EventFilter
                let out: StandardOutput
                var printed: Int
                var seenEnd: UInt64

                /// Prints the events appended since the last look; true once `limit` is reached.
                mutating func printNew() throws -> Bool {
                    do {
                        let snapshot = try reader.snapshot()
                        guard snapshot.endSeq > seenEnd else { return false }
                        var next = filter
                        next.afterSeq = seenEnd - 1
                        try request.print(
                            snapshot, next, limit: request.limit, printed: &printed, out: out, flushEach: true)
                        seenEnd = snapshot.endSeq
                        if let limit = request.limit, printed >= limit {
                            out.flush()
                            return true
                        }
                        return false
                    } catch let error as StoreError {
                        out.flush()
                        fail(error)
                    }
                }
            }

            fileprivate func print(
                _ snapshot: ArchiveSnapshot, _ filter: EventFilter, limit: Int?, printed: inout Int,
                out: StandardOutput,
                flushEach: Bool = false
            ) throws {
                let remaining = limit.map { $0 - printed }
                if let remaining, remaining <= 0 { return }
                var line: [UInt8] = []
                try snapshot.forEachView(
                    matching: filter, reverse: reverse, limit: remaining, onDamage: { warn($0.message) }
                ) { e in
                    line.removeAll(keepingCapacity: true)
                    switch format {
                    case .ndjson: e.appendNDJSON(to: &line)
                    case .payload: e.withPayload { line.append(contentsOf: $0) }
                    case .table: line.append(contentsOf: Query.tableRow(e).utf8)
                    }
                    line.append(0x0A)
                    out.append(line)
                    if flushEach { out.flush() }
                    printed += 1
                    return true
                }
            }
        }

        static func tableRow(_ e: EventView) -> String {
            func cell(_ s: String, _ width: Int) -> String {
                let s = visible(s)
                let t = s.count > width ? String(s.prefix(width - 1)) + "…" : s
                return t + String(repeating: " ", count: max(1, width + 1 - t.count))
            }
            return cell(String(e.seq), 9) + cell(RFC3339.format(micros: e.receivedAtMicros), 28) + cell(e.account, 13)
                + cell(e.source, 11) + cell(e.type, 27) + cell(e.entity ?? "-", 21)
                + visible(e.refs.joined(separator: ","))
        }

        /// `text` safe to print on a terminal: the type, entity and refs are the sender's text, and a control
        /// character in them (ESC starting a terminal escape sequence, CR overwriting the line, a C1 control)
        /// or a bidirectional override (text shown in another order than it reads) would act on the terminal
        /// instead of being shown. Each is written as a Swift escape, `\u{1B}`, and so is a backslash
        /// (`\\`), so that what is shown reads back unambiguously.
        static func visible(_ text: String) -> String {
            func needsEscape(_ v: UInt32) -> Bool {
                v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
                    || v == 0x5C
            }
            guard text.unicodeScalars.contains(where: { needsEscape($0.value) }) else { return text }
            var out = ""
            for scalar in text.unicodeScalars {
                if scalar.value == 0x5C {
                    out += "\\\\"
                } else if needsEscape(scalar.value) {
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
            return out
        }
    }
}
