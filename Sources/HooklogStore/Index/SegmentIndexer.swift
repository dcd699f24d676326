/// Builds a segment's `MemoryIndex` from its log, incrementally: recovery runs it over the whole active
/// segment, readers run it again over just the bytes appended since their last look.
struct SegmentIndexer: Sendable {
    private(set) var index: MemoryIndex
    /// File offset up to which the log has been indexed (the end of the last valid frame or damage).
    private(set) var scannedEnd: UInt64
    /// Unreadable bytes found after `scannedEnd` on the last advance.
    private(set) var tailLength: UInt64 = 0
    private(set) var tailReason: String?
    /// The tail is preallocated zeros (nothing was lost there).
    private(set) var tailIsZero = false
    private var block: [UInt8] = []
    private var blockStart: UInt64?
    /// The current block's first frame used the dictionary: no frame may continue that block.
    private var blockUsesDictionary = false
    let path: String
    /// A recompressed segment's dictionary (`SegmentDictionary`), for its frames that use it.
    private let layout: SegmentDictionary.Layout
    /// Whether a bad frame is skipped (damage, and frames after it read) or ends what is read (the
    /// tail). A sealed segment was synced whole at its seal, so bad bytes in it are damage and the frames
    /// after them were acknowledged. In the active segment the bytes after the last sync may have reached
    /// the disk in any order: a later commit's pages can survive where an earlier one's did not, and
    /// neither was acknowledged. There the log ends at the first bad frame (point-in-time recovery).
    let resync: Bool

    /// - Parameters:
    ///   - start: where to begin: after the header, or after the part of the log a checkpoint index
    ///     covers (the next frame there starts a block).
    ///   - layout: a recompressed segment's layout (`start` is then its `framesStart`).
    init(
        baseSeq: UInt64, path: String, start: UInt64 = UInt64(FileHeader.size),
        layout: SegmentDictionary.Layout = .plain,
        resync: Bool = true
    ) {
        self.resync = resync
        index = MemoryIndex(baseSeq: baseSeq)
        scannedEnd = max(start, layout.framesStart)
        self.path = path
        self.layout = layout
    }

    /// Indexes the frames in `file` between `scannedEnd` and `limit`.
    mutating func advance(file: RawFile, limit: UInt64) throws(StoreError) {
        guard limit > scannedEnd else { return }
        let bytes = try file.read(at: scannedEnd, count: Int(limit - scannedEnd))
        try advance(bytes: bytes, fileOffset: scannedEnd)
    }

    /// Indexes frames from `bytes`, which hold the file from `fileOffset` (= `scannedEnd`) on.
    mutating func advance(bytes: [UInt8], fileOffset: UInt64) throws(StoreError) {
        let scan = SegmentScanner.scan(
            bytes, fileOffset: fileOffset, expectedSeq: index.endSeq, blockStart: blockStart, resync: resync,
            path: path)
        var damage = scan.damage
        var skipUntilBlockStart = false
        for frame in scan.frames {
            if frame.header.startsBlock {
                block.removeAll(keepingCapacity: true)
                skipUntilBlockStart = false
                blockUsesDictionary = frame.header.usesDictionary
            } else if skipUntilBlockStart {
                continue
            }
            let start = block.count
            let local = Int(frame.offset - fileOffset) + FrameHeader.size
            do throws(BlockDecoder.Failure) {
                var dictionary: [UInt8]?
                // A dictionary block is one frame: its compressor's history was the dictionary, which a
                // continuing frame's decoder would not have.
                if !frame.header.startsBlock && blockUsesDictionary { throw BlockDecoder.Failure() }
                if frame.header.usesDictionary {
                    guard frame.header.startsBlock, let d = layout.dictionary else { throw BlockDecoder.Failure() }
                    dictionary = d
                }
                try BlockDecoder.decodeFrame(
                    bytes, range: local..<(local + Int(frame.header.compressedLength)),
                    uncompressedLength: Int(frame.header.uncompressedLength), appendingTo: &block,
                    dictionary: dictionary)
                do {
                    try index.add(frame: frame, block: block, start: start)
                } catch {
                    throw BlockDecoder.Failure()
                }
            } catch {
                // The CRC held but the contents do not parse: written wrong, not damaged in transit.
                let reason =
                    frame.header.usesDictionary && layout.dictionary == nil
                    ? "frame does not decode: \(layout.problem ?? "the segment has no dictionary")"
                    : "frame does not decode"
                damage.append(
                    DamagedRange(
                        path: path, offset: frame.offset, length: UInt64(frame.header.totalLength),
                        reason: reason, lostSeqs: frame.firstSeq..<frame.endSeq))
                index.endSeq = frame.endSeq
                skipUntilBlockStart = true
                block.removeAll(keepingCapacity: true)
            }
        }
        index.damage.append(contentsOf: damage)
        if scan.nextSeq > index.endSeq { index.endSeq = scan.nextSeq }
        blockStart = skipUntilBlockStart ? nil : scan.blockStart
        scannedEnd = scan.validEnd
        tailLength = scan.tailLength
        tailReason = scan.tailReason
        tailIsZero = scan.tailIsZero
        // Damage after the last good frame is not yet known to be damage in a growing file; it is
        // reported as the tail instead, and scanned again next time.
        if let last = index.damage.last, last.offset >= scannedEnd { index.damage.removeLast() }
    }
}
