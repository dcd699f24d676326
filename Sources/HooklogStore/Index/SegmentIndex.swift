/// The index of one segment: where its frames are, and which events each key points to.
///
/// Two implementations: `MemoryIndex` for the active segment (and any whose index file is missing or
/// damaged), rebuilt from the log on open; `IndexFile` for sealed segments, immutable and memory-mapped.
protocol SegmentIndex: Sendable {
    /// The seq of the segment's first event.
    var baseSeq: UInt64 { get }
    /// The seq after the last indexed event.
    var endSeq: UInt64 { get }
    /// The valid frames, in file order.
    var frames: [FrameInfo] { get }
    /// Damage found while the index was built.
    var damage: [DamagedRange] { get }
    /// Ordinals (`seq - baseSeq`) of the events under `key`, ascending.
    func postings(_ key: UInt64) -> [UInt32]
    /// False only if no event of the segment has this dedupe key.
    func mightContain(dedupeKey: UInt64) -> Bool
    /// The distinct accounts, sources or types of the segment, with their event counts.
    func names(_ kind: IndexKey.Kind) -> [(name: String, count: Int)]
    /// The frames a read of the events at these ordinals (ascending) visits, each with the frames
    /// before it in its block, in file order: a sub-table that `ArchiveSnapshot` walks as it would the
    /// whole one. An index file reads just those entries of its frame table.
    func frames(holding ordinals: [UInt32]) -> [FrameInfo]
    /// Every key of the segment's index: what the archive's key summary filters on. All of them, the
    /// account, source and type keys too (a few dozen), so that an entity whose 64-bit key equals one
    /// of those is never left out. Nil when they cannot all be read.
    func summaryKeys() -> [UInt64]?
}

extension SegmentIndex {
    func frames(holding ordinals: [UInt32]) -> [FrameInfo] { frames }

    var minTime: Int64? { frames.first?.header.minTime }
    var maxTime: Int64? { frames.last?.header.maxTime }
    var eventCount: Int { frames.reduce(0) { $0 + Int($1.header.count) } }

    /// The index of the frame holding `seq`, by binary search.
    func frameIndex(containing seq: UInt64) -> Int? {
        // One read of the requirement: through an existential, every `frames[mid]` below would fetch
        // (retain and release) the array again (14 % of a replay's CPU went to that).
        let frames = self.frames
        var lo = 0
        var hi = frames.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if frames[mid].endSeq <= seq { lo = mid + 1 } else { hi = mid }
        }
        return lo < frames.count && frames[lo].firstSeq <= seq ? lo : nil
    }
}

/// The index of a segment held in memory, built record by record as frames are written or scanned.
struct MemoryIndex: SegmentIndex {
    let baseSeq: UInt64
    var endSeq: UInt64
    var frames: [FrameInfo] = []
    var damage: [DamagedRange] = []
    var table = PostingTable()
    /// The text of every account, source and type key (their counts are their posting counts).
    var nameTable: [UInt64: (kind: IndexKey.Kind, name: String)] = [:]
    /// The id and digest keys, for the Bloom filter of the index file.
    var dedupeKeys: [UInt64] = []

    init(baseSeq: UInt64) {
        self.baseSeq = baseSeq
        endSeq = baseSeq
    }

    func postings(_ key: UInt64) -> [UInt32] { table.postings(key) }

    func mightContain(dedupeKey: UInt64) -> Bool { table.contains(dedupeKey) }

    func summaryKeys() -> [UInt64]? { table.allKeys }

    func names(_ kind: IndexKey.Kind) -> [(name: String, count: Int)] {
        nameTable.filter { $0.value.kind == kind }.map { ($0.value.name, table.postingCount($0.key)) }
    }

    @inline(__always)
    private mutating func post(_ kind: IndexKey.Kind, _ bytes: [UInt8], _ range: Range<Int>, _ ordinal: UInt32) {
        var b = IndexKey.Builder(kind)
        b.add(bytes, range)
        let key = b.finish()
        if table.append(key, ordinal), kind.rawValue <= IndexKey.Kind.type.rawValue {
            nameTable[key] = (kind, String(decoding: bytes[range], as: UTF8.self))
        }
    }

    /// Indexes frames the writer has just encoded (in order, after those already here) by their dedupe
    /// keys only (the writer's own index; the `IndexBuilder` indexes the rest), as the writer computed
    /// them (each an event ID or body digest key, with the event's seq): parsing every record again for
    /// them was 2.6 % of a busy server's CPU. Seqs outside the frames trap: the writer passes its own.
    mutating func addDedupe(frames added: [FrameInfo], keys: [(key: UInt64, seq: UInt64)]) {
        guard let first = added.first, let last = added.last else { return }
        precondition(
            first.firstSeq >= baseSeq && last.endSeq - baseSeq <= UInt64(UInt32.max) + 1, "frames outside the segment")
        for (key, seq) in keys {
            precondition(seq >= first.firstSeq && seq < last.endSeq, "dedupe key outside its frames")
            if table.append(key, UInt32(seq - baseSeq)) { dedupeKeys.append(key) }
        }
        frames.append(contentsOf: added)
        endSeq = last.endSeq
    }

    /// Indexes every record of a frame. `block` holds the decoded block; the frame's records start at
    /// `start` in it.
    mutating func add(frame: FrameInfo, block: [UInt8], start: Int) throws(ByteReader.Overrun) {
        // Ordinals are `UInt32`s: a frame whose seqs lie beyond them (a far seq in a frame found after damage)
        // cannot be indexed, and is refused like one whose records do not parse.
        guard frame.firstSeq >= baseSeq, frame.endSeq - baseSeq <= UInt64(UInt32.max) + 1 else {
            throw ByteReader.Overrun()
        }
        var p = start
        let end = start + Int(frame.header.uncompressedLength)
        for i in 0..<UInt64(frame.header.count) {
            let l = try RecordCodec.layout(block, at: p, end: end)
            let ordinal = UInt32(frame.firstSeq + i - baseSeq)
            p = l.next
            for (kind, value) in [(IndexKey.Kind.id, l.id), (.digest, l.digest)] {
                guard let value else { continue }
                var b = IndexKey.Builder(kind)
                b.add(block, l.account)
                b.add(block, l.source)
                b.add(block, value)
                let key = b.finish()
                if table.append(key, ordinal) { dedupeKeys.append(key) }
            }
            post(.account, block, l.account, ordinal)
            post(.source, block, l.source, ordinal)
            post(.type, block, l.type, ordinal)
            if let e = l.entity {
                post(.entity, block, e, ordinal)
                post(.ref, block, e, ordinal)
            }
            // A ref repeated in one event is posted once: `append` skips an ordinal equal to the last.
            RecordCodec.forEachRef(block, l) { post(.ref, block, $0, ordinal) }
        }
        guard p == end else { throw ByteReader.Overrun() }
        frames.append(frame)
        endSeq = frame.endSeq
    }
}
