/// Where one valid frame lies in its segment, and what it holds.
struct FrameInfo: Sendable, Equatable {
    /// File offset of the frame header.
    var offset: UInt64
    /// File offset of the frame that starts this frame's block (its LZ4 history begins there).
    var blockStart: UInt64
    var header: FrameHeader

    var end: UInt64 { offset + UInt64(header.totalLength) }
    var firstSeq: UInt64 { header.firstSeq }
    var endSeq: UInt64 { header.firstSeq + UInt64(header.count) }
}

/// Bytes of a segment that hold no readable frame, between readable ones.
public struct DamagedRange: Sendable, Equatable, CustomStringConvertible {
    /// The segment file.
    public var path: String
    /// File offset of the first unreadable byte.
    public var offset: UInt64
    /// How many bytes are unreadable.
    public var length: UInt64
    /// Why (checksum mismatch, bad header, ...).
    public var reason: String
    /// The seqs whose events were in the range, when the frames around it tell.
    public var lostSeqs: Range<UInt64>?

    public var description: String {
        let lost =
            lostSeqs.map { $0.isEmpty ? "" : ", events \($0.lowerBound)...\($0.upperBound - 1) unreadable" } ?? ""
        return "\(path) at offset \(offset): \(length) damaged bytes (\(reason))\(lost)"
    }
}

/// Walks the frames of a segment's bytes, validating each (magic, lengths, CRC32C, seq continuity).
///
/// In resync mode a bad frame does not end the walk: the scanner looks for the next frame that starts a
/// block (frames inside a block need the ones before them to decompress), records the bytes between as
/// damage, and goes on, so one flipped bit costs at most one block of events, not the rest of the file.
/// Unreadable bytes with no valid frame after them are the tail: an interrupted write in the active
/// segment, which recovery truncates.
enum SegmentScanner {
    struct Outcome {
        var frames: [FrameInfo] = []
        var damage: [DamagedRange] = []
        /// File offset just past the last valid frame.
        var validEnd: UInt64
        /// Unreadable bytes after `validEnd` (a torn tail when the segment is the active one).
        var tailLength: UInt64 = 0
        var tailReason: String?
        /// The tail is all zero bytes: space the writer preallocated, not a torn write.
        var tailIsZero = false
        /// The seq the next frame must start with.
        var nextSeq: UInt64
        /// Block start of the last valid frame, if its block can be continued.
        var blockStart: UInt64?
    }

    /// Scans `bytes`, which hold the file from `fileOffset` on.
    ///
    /// - Parameters:
    ///   - expectedSeq: the seq the first frame must start with.
    ///   - blockStart: the block the first frame may continue (nil: it must start a block).
    static func scan(
        _ bytes: [UInt8], fileOffset: UInt64, expectedSeq: UInt64, blockStart: UInt64?, resync: Bool,
        path: String
    ) -> Outcome {
        var out = Outcome(validEnd: fileOffset, nextSeq: expectedSeq, blockStart: blockStart)
        var p = 0
        // Where the last whole commit ends: frames after it whose commit never ended are cut back to it.
        // (Counts and scalars, not a copy of `out`: a copy would share the arrays and make every append
        // copy them.)
        var committed = (at: 0, frames: 0, damage: 0, nextSeq: expectedSeq, blockStart: blockStart)
        defer { assert(out.frames.last.map { !$0.header.commitContinues } ?? true) }
        while p < bytes.count {
            let reason: String
            switch FrameHeader.read(bytes, at: p) {
            case .success(let h):
                if h.firstSeq == out.nextSeq && (h.startsBlock || out.blockStart != nil) {
                    let offset = fileOffset + UInt64(p)
                    if h.startsBlock { out.blockStart = offset }
                    out.frames.append(FrameInfo(offset: offset, blockStart: out.blockStart!, header: h))
                    out.nextSeq = h.firstSeq + UInt64(h.count)
                    p += h.totalLength
                    out.validEnd = fileOffset + UInt64(p)
                    if !h.commitContinues {
                        committed = (p, out.frames.count, out.damage.count, out.nextSeq, out.blockStart)
                    }
                    continue
                }
                reason =
                    h.firstSeq == out.nextSeq
                    ? "frame continues a block that is unreadable"
                    : "frame out of sequence (seq \(h.firstSeq), expected \(out.nextSeq))"
            case .failure(let invalid):
                switch invalid {
                case .short: reason = "incomplete frame"
                case .badMagic: reason = "not a frame header"
                case .badHeader: reason = "impossible frame header"
                case .checksum: reason = "checksum mismatch"
                }
            }
            let zeroTail = bytes[p] == 0 && !bytes[p...].contains { $0 != 0 }
            if resync, !zeroTail, let (q, h) = nextBlockStart(bytes, after: p, minimumSeq: out.nextSeq) {
                out.damage.append(
                    DamagedRange(
                        path: path, offset: fileOffset + UInt64(p), length: UInt64(q - p), reason: reason,
                        lostSeqs: out.nextSeq..<h.firstSeq))
                out.nextSeq = h.firstSeq
                out.blockStart = nil
                p = q
                // What follows damage is read on its own terms.
                committed = (p, out.frames.count, out.damage.count, out.nextSeq, out.blockStart)
                continue
            }
            out.tailLength = UInt64(bytes.count - p)
            out.tailReason = reason
            out.tailIsZero = zeroTail
            break
        }
        if let last = out.frames.last, last.header.commitContinues {
            // The frames of a commit that a crash interrupted: never acknowledged, so they are the tail.
            let cut = committed.at
            out.frames.removeLast(out.frames.count - committed.frames)
            out.damage.removeLast(out.damage.count - committed.damage)
            out.validEnd = fileOffset + UInt64(cut)
            out.nextSeq = committed.nextSeq
            out.blockStart = committed.blockStart
            out.tailLength = UInt64(bytes.count - cut)
            out.tailReason = "interrupted commit (frames at \(fileOffset + UInt64(cut)) end with no last frame)"
            out.tailIsZero = false
        }
        return out
    }

    /// The next offset after `p` holding a valid frame that starts a block at or after `minimumSeq`.
    static func nextBlockStart(_ bytes: [UInt8], after p: Int, minimumSeq: UInt64) -> (Int, FrameHeader)? {
        var q = p + 1
        let limit = bytes.count - FrameHeader.size
        while q <= limit {
            if bytes[q] == 0x48 && bytes[q + 1] == 0x4C && bytes[q + 2] == 0x46 && bytes[q + 3] == 0x31,
                case .success(let h) = FrameHeader.read(bytes, at: q), h.startsBlock, h.firstSeq >= minimumSeq
            {
                return (q, h)
            }
            q += 1
        }
        return nil
    }
}
