import Foundation
import HooklogStore

/// Where a replay stands: which events are settled (delivered, or given up on and written to the
/// dead-letter file), kept in the checkpoint file as acknowledgements arrive.
///
/// The checkpoint holds a watermark (every matching event up to this `seq` is settled) and the settled
/// `seq`s above it (lanes finish out of order). It is rewritten whole, atomically (temporary file, then
/// rename), before the lane that settled an event sends its next request, so an interrupted run re-sends
/// at most the requests that were in flight. It is not fsynced: it survives the process being killed,
/// and after a power loss the worst case is re-sending what the last moments delivered.
actor Ledger {
    struct Resume: Sendable {
        var watermark: UInt64
        var settled: Set<UInt64>
        var complete: Bool
    }

    private let checkpointPath: String?
    private let fingerprint: String
    private let deadLetter: DeadLetterFile?
    private let snapshot: ArchiveSnapshot
    private var watermark: UInt64
    private var settled: Set<UInt64>
    private var issued: [UInt64] = []
    private var head = 0

    init(checkpoint: String?, fingerprint: String, resume: Resume?, deadLetter: DeadLetterFile?, snapshot: ArchiveSnapshot) {
        checkpointPath = checkpoint
        self.fingerprint = fingerprint
        self.deadLetter = deadLetter
        self.snapshot = snapshot
        watermark = resume?.watermark ?? 0
        settled = resume?.settled ?? []
    }

    /// Reads a checkpoint; nil if there is none.
    static func load(_ path: String, fingerprint: String) throws(ReplayError) -> Resume? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let watermark = (object["watermark"] as? NSNumber)?.uint64Value,
            let settled = object["settled"] as? [NSNumber], let stored = object["fingerprint"] as? String
        else {
            throw ReplayError("\(path) is not a replay checkpoint; remove it to start over")
        }
        guard stored == fingerprint else {
            throw ReplayError(
                "checkpoint \(path) belongs to a different replay (URL, filters or shape differ); use another file, or remove it to start over")
        }
        return Resume(watermark: watermark, settled: Set(settled.map(\.uint64Value)), complete: object["complete"] as? Bool ?? false)
    }

    /// Whether an earlier run settled `seq`.
    nonisolated static func isSettled(_ seq: UInt64, in resume: Resume?) -> Bool {
        guard let resume else { return false }
        return seq <= resume.watermark || resume.settled.contains(seq)
    }

    /// Registers events about to be handed to lanes, in `seq` order.
    func issue(_ seqs: [UInt64]) {
        issued.append(contentsOf: seqs)
    }

    /// Records the fate of a request's events and persists it.
    func settle(_ events: [ReplayEvent], delivered: Bool) throws(ReplayError) {
        if !delivered, let deadLetter {
            for e in events { try deadLetter.append(seq: e.seq, from: snapshot) }
        }
        for e in events { settled.insert(e.seq) }
        while head < issued.count, settled.contains(issued[head]) {
            watermark = max(watermark, issued[head])
            settled.remove(issued[head])
            head += 1
        }
        if head > 65_536 {
            issued.removeFirst(head)
            head = 0
        }
        try write(complete: false)
    }

    /// Marks the run complete (every matching event settled) or leaves it resumable.
    func finish(complete: Bool) throws(ReplayError) {
        try write(complete: complete)
    }

    private func write(complete: Bool) throws(ReplayError) {
        guard let checkpointPath else { return }
        let above = settled.filter { $0 > watermark }.sorted()
        var text = "{\"version\":1,\"watermark\":\(watermark),\"complete\":\(complete),\"settled\":["
        text += above.map(String.init).joined(separator: ",")
        text += "],\"fingerprint\":"
        var quoted: [UInt8] = []
        JSONText.appendString(fingerprint, to: &quoted)
        text += String(decoding: quoted, as: UTF8.self) + "}\n"
        let temp = checkpointPath + ".tmp"
        guard FileManager.default.createFile(atPath: temp, contents: Data(text.utf8)), rename(temp, checkpointPath) == 0 else {
            throw ReplayError("cannot write the checkpoint \(checkpointPath): \(String(cString: strerror(errno)))")
        }
    }
}

/// The dead-letter file: each undeliverable event as `hooklog query --format ndjson` prints it, appended.
final class DeadLetterFile: Sendable {
    let path: String
    private let fd: Int32

    init(path: String) throws(ReplayError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ReplayError("cannot open the dead-letter file \(path): \(String(cString: strerror(errno)))") }
    }

    func append(seq: UInt64, from snapshot: ArchiveSnapshot) throws(ReplayError) {
        var line: [UInt8] = []
        do {
            try snapshot.forEachView(matching: EventFilter(afterSeq: seq - 1, beforeSeq: seq + 1), limit: 1) { view in
                view.appendNDJSON(to: &line)
                return false
            }
        } catch {
            throw ReplayError("cannot read event \(seq) for the dead-letter file: \(error)")
        }
        line.append(0x0A)
        let n = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == line.count else { throw ReplayError("cannot write the dead-letter file \(path): \(String(cString: strerror(errno)))") }
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
