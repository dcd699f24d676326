import ArgumentParser
import HooklogStore

/// The event filters `query`, `export` (and `replay`) share. They combine with AND.
struct FilterOptions: ParsableArguments {
    @Option(help: "Only this account.")
    var account: String?

    @Option(help: "Only this source (orderspace, o2vend, or a generic source's name).")
    var source: String?

    @Option(help: ArgumentHelp("Only this type; a glob such as 'order.*' matches several.", valueName: "TYPE"))
    var type: String?

    @Option(help: ArgumentHelp("Events about this object (their entity is ID).", valueName: "ID"))
    var entity: String?

    @Option(
        help: ArgumentHelp(
            "Events whose entity is ID or that mention it: an order with its dispatches and invoices, a SKU's whole story.",
            valueName: "ID"))
    var ref: String?

    @Option(
        help: ArgumentHelp(
            "Received at or after TIME: RFC 3339, or a duration back from now (15m, 2h, 7d).", valueName: "TIME"))
    var since: String?

    @Option(help: ArgumentHelp("Received before TIME (same forms as --since).", valueName: "TIME"))
    var until: String?

    @Option(help: ArgumentHelp("Payload contains TEXT (scans the blocks the other filters leave).", valueName: "TEXT"))
    var contains: String?

    /// The values, as the commands use them.
    var values: FilterValues {
        FilterValues(
            account: account, source: source, type: type, entity: entity, ref: ref, since: since, until: until,
            contains: contains)
    }

    /// Whether any filter is set.
    var isActive: Bool { values.isActive }

    /// The store filter, with times resolved against `now` (µs).
    func filter(now: Int64) throws -> EventFilter { try values.filter(now: now) }
}

/// The filter flags' values, whichever parser read them (ArgumentParser, or `query`'s fast path).
struct FilterValues: Equatable {
    var account: String?
    var source: String?
    var type: String?
    var entity: String?
    var ref: String?
    var since: String?
    var until: String?
    var contains: String?

    /// Whether any filter is set.
    var isActive: Bool {
        [account, source, type, entity, ref, since, until, contains].contains { $0 != nil }
    }

    /// The store filter, with times resolved against `now` (µs).
    func filter(now: Int64) throws -> EventFilter {
        func time(_ flag: String, _ value: String?) throws -> Int64? {
            guard let value else { return nil }
            guard let t = RFC3339.parse(value, now: now) else {
                throw ValidationError(
                    "\(flag) '\(value)' is neither an RFC 3339 time (2026-10-02T09:14:05Z) nor a duration back from now of at most 100 years (15m, 2h, 7d)"
                )
            }
            return t
        }
        return EventFilter(
            account: account, source: source, type: type, entity: entity, ref: ref,
            since: try time("--since", since), until: try time("--until", until),
            contains: contains.map { Array($0.utf8) })
    }
}

/// Buffered standard output: whole lines, flushed on demand (every line with `--follow`).
final class StandardOutput {
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    func append(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    func append(_ text: String) { append(Array(text.utf8)) }

    /// Writes what is buffered. A reader that went away (`| head`: EPIPE) ends the process quietly with
    /// status 0, like `cat`; any other failure (a full disk, an I/O error) ends it with a one-line error and
    /// status 1, so that a script never takes a truncated file for a whole one.
    func flush() {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { write(1, $0.baseAddress! + done, $0.count - done) }
            if n > 0 {
                done += n
                continue
            }
            let code = n < 0 ? errno : EIO
            if code == EINTR { continue }
            if code == EPIPE { exit(0) }
            let line = Array(
                "hooklog: cannot write the output: \(String(cString: strerror(code))); nothing after this was written\n"
                    .utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            exit(1)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

/// Prints a warning line on standard error.
func warn(_ message: String) {
    let line = Array("hooklog: warning: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

#if canImport(Glibc)
import Glibc
#endif
