import Foundation
import HooklogStore
import NIOPosix

/// Where a replay stands: which events are settled (delivered), which were given up on, and the time
/// window the run resolved; kept in the checkpoint file as acknowledgements arrive.
///
/// The checkpoint file is one JSON object on one line (version 2):
///
///     {"version":2,"watermark":812,"complete":false,"settled":[815,819],"failed":[[300,302],[790,790]],
///      "since":1764806400000000,"until":null,"fingerprint":"http://…"}
///
/// - `watermark`: every matching event up to this `seq` was sent, delivered or given up on.
/// - `settled`: events above the watermark that were delivered or given up on (lanes finish out of order).
/// - `failed`: `seq` ranges whose matching events were given up on (written to the dead-letter file, if
///   any). They are not settled: a run resumed from this checkpoint sends them again, and is complete only
///   once they are delivered. A range spans events that failed one after another in the scan's order,
///   so it holds no delivered event; the `seq`s in it that the replay does not match mean nothing. (Ranges
///   keep the file small when a receiver refuses everything.)
/// - `since`, `until`: the time window, µs, as the first run resolved it (`--since 30d` against that run's
///   clock). A resumed run uses this window, so it sends the events the first run set out to send.
/// - `fingerprint`: the flags that choose and shape the events, as written (`30d`, not its resolution):
///   a checkpoint is resumed only by the same replay.
/// - `complete`: every matching event was delivered; the same command sends nothing.
///
/// Version 1 files (no `failed`, `since`, `until`; a fingerprint holding the resolved times) are read too.
///
/// The file is replaced whole (temporary file created 0600, written, fsynced, renamed over the checkpoint,
/// directory fsynced) before the lane that settled an event sends its next request, so an interrupted
/// run, even by a power loss, re-sends at most the requests that were in flight, and the file is always
/// the old state or the new one, never a torn mix. Lanes that settle while a replacement is being
/// written share the next one (group commit): an fsync costs milliseconds, so a write per settle would
/// cap a run at a few hundred requests a second.
actor Ledger {
    struct Resume: Sendable {
        var watermark: UInt64
        var settled: Set<UInt64>
        var failed: SeqRanges
        var window: Window
        var complete: Bool
    }

    /// The resolved time bounds of a replay, µs.
    struct Window: Sendable, Equatable {
        var since: Int64?
        var until: Int64?
    }

    private let checkpointPath: String?
    private let fingerprint: String
    private let deadLetter: DeadLetterFile?
    private let snapshot: ArchiveSnapshot
    private let window: Window
    private var watermark: UInt64
    /// Delivered or given up on, above the watermark.
    private var done: Set<UInt64>
    /// Given up on, at or below the watermark (and, from an earlier run, not yet sent again).
    private var failed: SeqRanges
    /// Given up on in this run, above the watermark.
    private var failedAbove: Set<UInt64> = []
    private var failedThisRun = 0
    /// Events handed to lanes, in `seq` order, each with whether a matching event the run skips (settled
    /// by an earlier run) lies between it and the one before.
    private var issued: [(seq: UInt64, afterSkipped: Bool)] = []
    private var head = 0
    /// The last event the watermark passed, and whether it was given up on.
    private var previous: (seq: UInt64, failed: Bool)?
    /// Dead letters not yet written.
    private var deadLetterSeqs: [UInt64] = []
    /// What the next write says of the run as a whole (set once, by `finish`).
    private var complete = false

    /// Changes so far, and how many of them the file holds.
    private var version = 0
    private var written = 0
    private var writing = false
    private var waiters: [(version: Int, continuation: CheckedContinuation<Result<Void, ReplayError>, Never>)] = []

    init(
        checkpoint: String?, fingerprint: String, window: Window, resume: Resume?, deadLetter: DeadLetterFile?,
        snapshot: ArchiveSnapshot
    ) {
        checkpointPath = checkpoint
        self.fingerprint = fingerprint
        self.window = window
        self.deadLetter = deadLetter
        self.snapshot = snapshot
        watermark = resume?.watermark ?? 0
        done = resume?.settled ?? []
        failed = resume?.failed ?? SeqRanges()
    }

    /// Reads a checkpoint; nil if there is none.
    /// - Throws: if the file is not a checkpoint, or belongs to another replay.
    static func load(_ path: String, configuration: ReplayConfiguration) throws(ReplayError) -> Resume? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let notCheckpoint = ReplayError("\(path) is not a replay checkpoint; remove it to start over")
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let version = object["version"] as? Int,
            let watermark = Self.seq(object["watermark"], orZero: true),
            let settledList = object["settled"] as? [Any], let stored = object["fingerprint"] as? String
        else { throw notCheckpoint }
        var settled = Set<UInt64>()
        for s in settledList {
            guard let seq = Self.seq(s) else { throw notCheckpoint }
            settled.insert(seq)
        }
        let different = ReplayError(
            "checkpoint \(path) belongs to a different replay (URL, filters or shape differ); use another file, or remove it to start over"
        )
        var failed = SeqRanges()
        var window: Window
        switch version {
        case 1:
            guard let w = configuration.windowOfVersion1Checkpoint(fingerprint: stored) else { throw different }
            window = w
        case 2:
            guard stored == configuration.fingerprint else { throw different }
            func bound(_ key: String) throws(ReplayError) -> Int64? {
                switch object[key] {
                case nil, is NSNull: return nil
                case let n as Int: return Int64(n)
                default: throw notCheckpoint
                }
            }
            window = Window(since: try bound("since"), until: try bound("until"))
            guard let ranges = object["failed"] as? [Any] else { throw notCheckpoint }
            for r in ranges {
                guard let pair = r as? [Any], pair.count == 2, let lo = Self.seq(pair[0]), let hi = Self.seq(pair[1]),
                    lo <= hi
                else { throw notCheckpoint }
                failed.insert(lo...hi)
            }
        default:
            throw ReplayError(
                "checkpoint \(path) is of version \(version), which this hooklog does not read; "
                    + "use the hooklog that wrote it, or remove it to start over")
        }
        return Resume(
            watermark: watermark, settled: settled, failed: failed, window: window,
            complete: object["complete"] as? Bool ?? false)
    }

    /// A `seq` from a checkpoint: a JSON integer, 1 to `Int64.max` (0 too for a watermark).
    private static func seq(_ value: Any?, orZero: Bool = false) -> UInt64? {
        // `as? Int` takes integers only: 1.5, 1e30 and strings are refused, not rounded or wrapped.
        guard let n = value as? Int, n > 0 || (orZero && n == 0) else { return nil }
        return UInt64(n)
    }

    /// Whether an earlier run settled `seq`: delivered it, so it is not sent again.
    nonisolated static func isSettled(_ seq: UInt64, in resume: Resume?) -> Bool {
        guard let resume else { return false }
        return (seq <= resume.watermark || resume.settled.contains(seq)) && !resume.failed.contains(seq)
    }

    /// Writes the checkpoint before anything is sent, so the window is kept even if the run is stopped
    /// before its first answer.
    func start() async throws(ReplayError) {
        try await persist()
    }

    /// Registers events about to be handed to lanes, in `seq` order.
    func issue(_ events: [(seq: UInt64, afterSkipped: Bool)]) {
        issued.append(contentsOf: events)
    }

    /// Records the fate of a request's events and persists it.
    func settle(_ events: [ReplayEvent], delivered: Bool) async throws(ReplayError) {
        for e in events {
            done.insert(e.seq)
            if delivered {
                failed.remove(e.seq)  // given up on by an earlier run, delivered now
            } else {
                failedAbove.insert(e.seq)
                deadLetterSeqs.append(e.seq)
            }
        }
        if !delivered { failedThisRun += events.count }
        while head < issued.count, done.contains(issued[head].seq) {
            let (seq, afterSkipped) = issued[head]
            done.remove(seq)
            watermark = max(watermark, seq)
            let gaveUp = failedAbove.remove(seq) != nil
            if gaveUp && !failed.contains(seq) {
                // Extend the last range only over an event right after the range's last one in the scan:
                // a range must hold no delivered event.
                if !afterSkipped, let previous, previous.failed, failed.last?.upperBound == previous.seq {
                    failed.extendLast(to: seq)
                } else {
                    failed.insert(seq...seq)
                }
            }
            previous = (seq, gaveUp)
            head += 1
        }
        if head > 65_536 {
            issued.removeFirst(head)
            head = 0
        }
        try await persist()
    }

    /// Ends the run: complete if nothing was interrupted and every event was delivered, else resumable
    /// (a rerun sends what is left, and what was given up on).
    /// - Returns: whether the checkpoint now says complete.
    @discardableResult
    func finish(interrupted: Bool) async throws(ReplayError) -> Bool {
        complete = !interrupted && failedThisRun == 0
        if complete { failed = SeqRanges() }
        try await persist()
        return complete
    }

    /// Writes the current state and returns once the file (and the dead-letter file) holds it.
    private func persist() async throws(ReplayError) {
        // Without a checkpoint only dead letters are written: a delivery has nothing to wait for.
        guard checkpointPath != nil || !deadLetterSeqs.isEmpty else { return }
        version += 1
        if writing {
            let mine = version
            try await withCheckedContinuation { waiters.append((mine, $0)) }.get()
            return
        }
        writing = true
        defer { writing = false }
        while written < version {
            let target = version
            let text = checkpointPath == nil ? nil : encode()
            let letters = deadLetterSeqs
            deadLetterSeqs.removeAll()
            let (path, deadLetter, snapshot) = (checkpointPath, self.deadLetter, self.snapshot)
            // Blocking file I/O and fsync: on NIO's thread pool, not on the cooperative pool lanes run on.
            let result: Result<Void, ReplayError>
            do {
                result = try await NIOThreadPool.singleton.runIfActive { () -> Result<Void, ReplayError> in
                    Result { () throws(ReplayError) in
                        if let deadLetter, !letters.isEmpty { try deadLetter.append(seqs: letters, from: snapshot) }
                        if let path, let text { try CheckpointFile.replace(path, with: Array(text.utf8)) }
                    }
                }
            } catch {
                result = .failure(ReplayError("cannot write the checkpoint: \(error)"))
            }
            if case .failure = result {
                for w in waiters { w.continuation.resume(returning: result) }
                waiters.removeAll()
                try result.get()
            }
            written = target
            let (ready, later) = (waiters.filter { $0.version <= target }, waiters.filter { $0.version > target })
            waiters = later
            for w in ready { w.continuation.resume(returning: .success(())) }
        }
    }

    private func encode() -> String {
        let above = done.filter { $0 > watermark }.sorted()
        var ranges = failed
        for seq in failedAbove { ranges.insert(seq...seq) }
        var text = "{\"version\":2,\"watermark\":\(watermark),\"complete\":\(complete),\"settled\":["
        text += above.map(String.init).joined(separator: ",")
        text += "],\"failed\":["
        text += ranges.ranges.map { "[\($0.lowerBound),\($0.upperBound)]" }.joined(separator: ",")
        text += "],\"since\":" + (window.since.map(String.init) ?? "null")
        text += ",\"until\":" + (window.until.map(String.init) ?? "null")
        text += ",\"fingerprint\":"
        var quoted: [UInt8] = []
        JSONText.appendString(fingerprint, to: &quoted)
        text += String(decoding: quoted, as: UTF8.self) + "}\n"
        return text
    }
}

/// Sorted, disjoint `seq` ranges.
struct SeqRanges: Sendable, Equatable {
    private(set) var ranges: [ClosedRange<UInt64>] = []

    var isEmpty: Bool { ranges.isEmpty }
    var last: ClosedRange<UInt64>? { ranges.last }

    /// The index of the first range whose upper bound is at least `seq`.
    private func firstEndingAtOrAfter(_ seq: UInt64) -> Int {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < seq { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    func contains(_ seq: UInt64) -> Bool {
        let i = firstEndingAtOrAfter(seq)
        return i < ranges.count && ranges[i].contains(seq)
    }

    /// Adds `range`, merging it with the ranges it overlaps or touches (no `seq` lies between those).
    mutating func insert(_ range: ClosedRange<UInt64>) {
        let i = firstEndingAtOrAfter(range.lowerBound == 0 ? 0 : range.lowerBound - 1)
        var merged = range
        while i < ranges.count && (merged.upperBound == .max || ranges[i].lowerBound <= merged.upperBound + 1) {
            merged = min(merged.lowerBound, ranges[i].lowerBound)...max(merged.upperBound, ranges[i].upperBound)
            ranges.remove(at: i)
        }
        ranges.insert(merged, at: i)
    }

    /// Stretches the last range up to `seq` (above it).
    mutating func extendLast(to seq: UInt64) {
        guard let last = ranges.last, seq > last.upperBound else { return }
        ranges[ranges.count - 1] = last.lowerBound...seq
    }

    /// Takes `seq` out, splitting the range that holds it.
    mutating func remove(_ seq: UInt64) {
        let i = firstEndingAtOrAfter(seq)
        guard i < ranges.count, ranges[i].contains(seq) else { return }
        let r = ranges[i]
        var pieces: [ClosedRange<UInt64>] = []
        if r.lowerBound < seq { pieces.append(r.lowerBound...(seq - 1)) }
        if seq < r.upperBound { pieces.append((seq + 1)...r.upperBound) }
        ranges.replaceSubrange(i...i, with: pieces)
    }
}

/// Replaces a file whole, so that after a crash or a power loss it holds the old bytes or the new ones.
enum CheckpointFile {
    /// Writes `bytes` to `path.tmp` (created 0600: the checkpoint says which customer events were sent),
    /// fsyncs it, renames it over `path`, and fsyncs the directory so the rename itself is durable.
    static func replace(_ path: String, with bytes: [UInt8]) throws(ReplayError) {
        let temp = path + ".tmp"
        func failure(_ what: String) -> ReplayError {
            ReplayError(
                "cannot write the checkpoint \(path) (\(what): \(String(cString: strerror(errno)))); check the disk and its permissions"
            )
        }
        unlink(temp)  // a leftover of a killed run: O_EXCL below must create the file, with our mode
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create") }
        var ok = true
        var what = "write"
        var done = 0
        while ok && done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { ok = false } else { done += n }
        }
        if ok && fsync(fd) != 0 { (ok, what) = (false, "fsync") }
        let saved = errno
        close(fd)
        guard ok else {
            unlink(temp)
            errno = saved
            throw failure(what)
        }
        guard rename(temp, path) == 0 else {
            let e = errno
            unlink(temp)
            errno = e
            throw failure("rename")
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw failure("open directory") }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw failure("fsync directory") }
    }
}

/// The dead-letter file: each undeliverable event as `hooklog query --format ndjson` prints it, appended.
/// Created 0600: it holds customer payloads.
final class DeadLetterFile: Sendable {
    let path: String
    private let fd: Int32

    init(path: String) throws(ReplayError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ReplayError("cannot open the dead-letter file \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Appends the events' lines in one write and syncs them.
    func append(seqs: [UInt64], from snapshot: ArchiveSnapshot) throws(ReplayError) {
        var lines: [UInt8] = []
        for seq in seqs {
            do {
                try snapshot.forEachView(matching: EventFilter(afterSeq: seq - 1, beforeSeq: seq + 1), limit: 1) {
                    view in
                    view.appendNDJSON(to: &lines)
                    return false
                }
            } catch {
                throw ReplayError("cannot read event \(seq) for the dead-letter file: \(error)")
            }
            lines.append(0x0A)
        }
        var done = 0
        while done < lines.count {
            let n = lines.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw ReplayError("cannot write the dead-letter file \(path): \(String(cString: strerror(errno)))")
            }
            done += n
        }
        guard fdatasync(fd) == 0 else {
            throw ReplayError("cannot sync the dead-letter file \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }
}

/// A replay problem, said in one line.
public struct ReplayError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and what to do.
    public var message: String

    init(_ message: String) { self.message = message }

    public var description: String { message }
}
