/// A sealed segment's index, written once when the segment is sealed and memory-mapped by readers
/// (layout: docs/FORMAT.md, "Index file").
///
/// It is derived data: on open its checksum and its agreement with the log (base seq, log length) are
/// checked, and a missing or failing one is rebuilt from the log rather than trusted.
final class IndexFile: SegmentIndex {
    static let directorySize = 12 * 8
    static let frameEntrySize = 56
    /// `u64 key, u32 postings offset`: a key's postings end where the next key's begin.
    static let keyEntrySize = 12

    let baseSeq: UInt64
    let endSeq: UInt64
    let frames: [FrameInfo]
    let damage: [DamagedRange]
    /// The log length the index was built from; a different length means the index is stale.
    let logLength: UInt64
    private let file: MappedFile
    private let keysOffset: Int
    private let keyCount: Int
    private let postingsOffset: Int
    private let postingsLength: Int
    private let bloomOffset: Int
    private let bloomWords: Int
    private let nameList: [(kind: IndexKey.Kind, name: String, count: Int)]

    /// Serialises `index` (the complete index of a segment whose log is `logLength` bytes).
    static func encode(_ index: MemoryIndex, logLength: UInt64, createdMicros: Int64) -> [UInt8] {
        var body = ByteWriter(capacity: 1 << 20)
        body.zeros(directorySize)  // patched below
        let framesOffset = body.count
        for f in index.frames {
            body.u64(f.offset)
            body.u64(f.blockStart)
            body.u64(f.header.firstSeq)
            body.u32(f.header.count)
            body.u32(f.header.compressedLength)
            body.u32(f.header.uncompressedLength)
            body.u32(UInt32(f.header.flags))
            body.i64(f.header.minTime)
            body.i64(f.header.maxTime)
        }
        let sortedKeys = index.table.allKeys.sorted()
        var postings = ByteWriter(capacity: index.table.count * 4)
        let keysOffset = body.count
        for key in sortedKeys {
            let list = index.table.postings(key)
            body.u64(key)
            body.u32(UInt32(postings.count))
            var previous: UInt32 = 0
            for (i, ordinal) in list.enumerated() {
                postings.varint(UInt64(i == 0 ? ordinal : ordinal - previous))
                previous = ordinal
            }
        }
        let postingsOffset = body.count
        body.bytes.append(contentsOf: postings.bytes)
        while body.count % 8 != 0 { body.u8(0) }
        let bloom = BloomFilter(keys: index.dedupeKeys)
        let bloomOffset = body.count
        for w in bloom.words { body.u64(w) }
        let namesOffset = body.count
        let names = index.nameTable.values.sorted { ($0.kind.rawValue, $0.name) < ($1.kind.rawValue, $1.name) }
        for n in names {
            body.u8(n.kind.rawValue)
            body.string(n.name)
            // The count, so that opening an index never decodes a posting list to count names.
            body.varint(UInt64(index.table.postingCount(IndexKey.of(n.kind, n.name))))
        }
        let damageOffset = body.count
        for d in index.damage {
            body.u64(d.offset)
            body.u64(d.length)
            body.u64(d.lostSeqs?.lowerBound ?? 0)
            body.u64(d.lostSeqs?.upperBound ?? 0)
            body.string(d.reason)
        }
        var dir = ByteWriter(capacity: directorySize)
        for v in [
            framesOffset, index.frames.count, keysOffset, sortedKeys.count, postingsOffset, postings.count,
            bloomOffset, bloom.words.count, namesOffset, names.count, damageOffset, index.damage.count,
        ] { dir.u64(UInt64(v)) }
        body.bytes.replaceSubrange(0..<directorySize, with: dir.bytes)
        body.u32(CRC32C.checksum(body.bytes))
        let header = FileHeader(
            kind: .index, baseSeq: index.baseSeq, createdMicros: createdMicros,
            extra: [index.endSeq, logLength, UInt64(body.count)])
        return header.encoded() + body.bytes
    }

    /// Maps and validates an index file.
    ///
    /// - Throws: `StoreError` (`corrupt`, `notFound`, `unsupportedVersion`) when it cannot be used; the
    ///   caller rebuilds from the log.
    init(path: String, segmentPath: String) throws(StoreError) {
        // The body's checksum is computed from the file as it is mapped (see `MappedFile`: not through the map).
        let file = try MappedFile(path: path) { size in
            size >= FileHeader.size + Self.directorySize + 4 ? FileHeader.size..<(size - 4) : nil
        }
        let raw = file.bytes
        let header = try FileHeader.decode(Array(raw.prefix(FileHeader.size)), kind: .index, path: path)
        let bodyLength = raw.count - FileHeader.size
        guard header.extra[2] == UInt64(bodyLength), bodyLength >= Self.directorySize + 4 else {
            throw StoreError(.corrupt, "\(path): length does not match its header", path: path)
        }
        let stored = file.u32(at: raw.count - 4)
        guard file.checksum == stored else {
            throw StoreError(.corrupt, "\(path): checksum mismatch", path: path)
        }
        // A checksum proves the bytes are as written, not that they make sense: every directory slot (an
        // offset into the body or a count of entries) must fit the body before any arithmetic is done on it.
        func dir(_ i: Int) throws(StoreError) -> Int {
            let v = file.u64(at: FileHeader.size + i * 8)
            guard v <= UInt64(bodyLength) else { throw StoreError(.corrupt, "\(path): sections out of bounds", path: path) }
            return Int(v)
        }
        let b = FileHeader.size
        let (framesOffset, frameCount) = (b + (try dir(0)), try dir(1))
        keysOffset = b + (try dir(2))
        keyCount = try dir(3)
        postingsOffset = b + (try dir(4))
        postingsLength = try dir(5)
        bloomOffset = b + (try dir(6))
        bloomWords = try dir(7)
        let (namesOffset, nameCount, damageOffset, damageCount) = (b + (try dir(8)), try dir(9), b + (try dir(10)), try dir(11))
        let end = raw.count - 4
        guard framesOffset + frameCount * Self.frameEntrySize <= end, keysOffset + keyCount * Self.keyEntrySize <= end,
            postingsOffset + postingsLength <= end, bloomOffset + bloomWords * 8 <= end, namesOffset <= end,
            damageOffset <= end, damageOffset >= namesOffset
        else { throw StoreError(.corrupt, "\(path): sections out of bounds", path: path) }
        var frames: [FrameInfo] = []
        frames.reserveCapacity(frameCount)
        for i in 0..<frameCount {
            let o = framesOffset + i * Self.frameEntrySize
            let h = FrameHeader(
                compressedLength: file.u32(at: o + 28), uncompressedLength: file.u32(at: o + 32),
                firstSeq: file.u64(at: o + 16), count: file.u32(at: o + 24), flags: UInt16(truncatingIfNeeded: file.u32(at: o + 36)),
                minTime: Int64(bitPattern: file.u64(at: o + 40)), maxTime: Int64(bitPattern: file.u64(at: o + 48)))
            frames.append(FrameInfo(offset: file.u64(at: o), blockStart: file.u64(at: o + 8), header: h))
        }
        let tail = file.copy(namesOffset..<end)
        var r = ByteReader(tail)
        var names: [(kind: IndexKey.Kind, name: String, count: Int)] = []
        names.reserveCapacity(nameCount)
        var damage: [DamagedRange] = []
        do {
            for _ in 0..<nameCount {
                guard let kind = IndexKey.Kind(rawValue: try r.u8()) else { throw ByteReader.Overrun() }
                let name = try r.string()
                // A count past what a segment can hold (its ordinals are `UInt32`s) is no count.
                guard let count = Int(exactly: try r.varint()), count <= Int(UInt32.max) else { throw ByteReader.Overrun() }
                names.append((kind, name, count))
            }
            r = ByteReader(tail, from: damageOffset - namesOffset)
            for _ in 0..<damageCount {
                let (offset, length, lo, hi) = (try r.u64(), try r.u64(), try r.u64(), try r.u64())
                damage.append(
                    DamagedRange(
                        path: segmentPath, offset: offset, length: length, reason: try r.string(),
                        lostSeqs: hi > lo ? lo..<hi : nil))
            }
        } catch {
            throw StoreError(.corrupt, "\(path): names section is malformed", path: path)
        }
        guard Self.framesFit(frames, baseSeq: header.baseSeq, endSeq: header.extra[0], logLength: header.extra[1]) else {
            throw StoreError(.corrupt, "\(path): its frame table does not fit its log", path: path)
        }
        baseSeq = header.baseSeq
        endSeq = header.extra[0]
        logLength = header.extra[1]
        self.frames = frames
        self.damage = damage
        self.file = file
        nameList = names
    }

    /// Whether a frame table can be that of a log of `logLength` bytes holding seqs `baseSeq..<endSeq`:
    /// frames in file order inside the log, none overlapping, seqs ascending within the range (ordinals
    /// fit a `UInt32`), and a frame that continues a block right after the frame before it in that block.
    /// Readers compute read lengths and seq ranges from these numbers, so a table that breaks them is
    /// refused like a damaged one, and the index is rebuilt from the log.
    static func framesFit(_ frames: [FrameInfo], baseSeq: UInt64, endSeq: UInt64, logLength: UInt64) -> Bool {
        guard baseSeq <= endSeq, endSeq - baseSeq <= UInt64(UInt32.max) else { return false }
        var end = UInt64(FileHeader.size)
        var seq = baseSeq
        var previous: FrameInfo? = nil
        for f in frames {
            guard f.offset >= end, f.offset <= logLength, UInt64(f.header.totalLength) <= logLength - f.offset,
                f.header.count > 0, f.firstSeq >= seq, f.firstSeq <= endSeq, UInt64(f.header.count) <= endSeq - f.firstSeq
            else { return false }
            if f.header.startsBlock {
                guard f.blockStart == f.offset else { return false }
            } else {
                guard let previous, previous.end == f.offset, previous.blockStart == f.blockStart else { return false }
            }
            end = f.end
            seq = f.endSeq
            previous = f
        }
        return true
    }

    func names(_ kind: IndexKey.Kind) -> [(name: String, count: Int)] {
        nameList.filter { $0.kind == kind }.map { ($0.name, $0.count) }
    }

    /// Binary search in the sorted key table; the entry's index, if present.
    private static func find(_ key: UInt64, in file: MappedFile, keysOffset: Int, keyCount: Int) -> Int? {
        var lo = 0
        var hi = keyCount
        while lo < hi {
            let mid = (lo + hi) / 2
            let k = file.u64(at: keysOffset + mid * Self.keyEntrySize)
            if k < key { lo = mid + 1 } else if k > key { hi = mid } else { return mid }
        }
        return nil
    }

    private func find(_ key: UInt64) -> Int? {
        Self.find(key == 0 ? 1 : key, in: file, keysOffset: keysOffset, keyCount: keyCount)
    }

    func postings(_ key: UInt64) -> [UInt32] {
        guard let i = find(key) else { return [] }
        return Self.decodePostings(
            file, keysOffset: keysOffset, keyCount: keyCount, postingsOffset: postingsOffset,
            postingsLength: postingsLength, entry: i)
    }

    /// Decodes the varint-delta postings of key entry `entry`, which run up to the next entry's.
    private static func decodePostings(
        _ file: MappedFile, keysOffset: Int, keyCount: Int, postingsOffset: Int, postingsLength: Int, entry: Int
    ) -> [UInt32] {
        let at = keysOffset + entry * keyEntrySize
        var p = postingsOffset + Int(file.u32(at: at + 8))
        let end = postingsOffset + (entry + 1 < keyCount ? Int(file.u32(at: at + keyEntrySize + 8)) : postingsLength)
        guard p <= end, end <= postingsOffset + postingsLength else { return [] }  // the checksum makes this hold
        var out: [UInt32] = []
        var value: UInt32 = 0
        let bytes = file.bytes
        while p < end {
            var delta: UInt32 = 0
            var shift: UInt32 = 0
            while p < end {
                let byte = bytes[p]
                p += 1
                delta |= UInt32(byte & 0x7f) << shift
                if byte < 0x80 { break }
                shift += 7
                if shift > 28 { return out }
            }
            value = out.isEmpty ? delta : value &+ delta
            out.append(value)
        }
        return out
    }

    func mightContain(dedupeKey: UInt64) -> Bool {
        BloomFilter.mightContain(dedupeKey, wordCount: bloomWords) { file.u64(at: bloomOffset + $0 * 8) }
    }
}
