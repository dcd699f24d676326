import CCRC32C
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A sealed segment's index, written once when the segment is sealed and memory-mapped by readers
/// (layout: docs/FORMAT.md, "Index file").
///
/// It is derived data: on open its checksums and its agreement with the log (base seq, log length) are
/// checked, and a missing or failing one is rebuilt from the log rather than trusted. Version 2 files
/// (written by this build) carry a checksum per 4 KB page, checked as pages are first read
/// (`PageChecksums`); a page found bad later makes this index answer from one rebuilt from the log.
/// Version 1 files (one checksum over the body) are still read, checked whole on open.
final class IndexFile: SegmentIndex {
    static let directorySize = 12 * 8
    static let frameEntrySize = 56
    /// `u64 key, u32 postings offset`: a key's postings end where the next key's begin.
    static let keyEntrySize = 12

    let baseSeq: UInt64
    let endSeq: UInt64
    /// The frame table, read on first use (see `frames`).
    private let framesAt: Range<Int>
    private let loadedFrames = Mutex<FramesState>(.unread)
    let damage: [DamagedRange]
    /// The log length the index was built from; a different length means the index is stale.
    let logLength: UInt64
    /// When the file was written, µs since the epoch.
    let createdMicros: Int64
    private let file: MappedFile
    private let keysOffset: Int
    private let keyCount: Int
    private let postingsOffset: Int
    private let postingsLength: Int
    private let bloomOffset: Int
    private let bloomWords: Int
    private let nameList: [(kind: IndexKey.Kind, name: String, count: Int)]
    /// Version 2: the page checksums (nil for a version 1 file, checked whole on open).
    private let pages: PageChecksums?
    private let segmentPath: String
    /// 0 not yet checked, 1 good, 2 damaged: the Bloom filter is checked whole on first use (dedupe
    /// probes it for every event with an ID, so it must not cost a lock a probe).
    private let bloomState = Atomic<UInt8>(0)
    /// The index rebuilt from the log, once a page of this file was found damaged.
    private let fallback = Mutex<MemoryIndex?>(nil)

    /// Serialises `index` (the complete index of a segment whose log is `logLength` bytes).
    ///
    /// Every section's length is computed first (the postings' from their varint lengths), so that the
    /// file is one buffer of its exact size, written once front to back, with no growth and no copy to
    /// put the header in front: the seal thread writes a 400k-event segment's 18 MB index while ingest
    /// runs, and the array growth and copies were half its CPU (see `SizedByteWriter`).
    static func encode(_ index: MemoryIndex, logLength: UInt64, createdMicros: Int64) -> [UInt8] {
        let postings = index.table.sorted()
        // The varint deltas of every key's ordinals, key after key (see `decodePostings`).
        var postingsLength = 0
        postings.forEachDelta { _, delta in postingsLength += SizedByteWriter.varintLength(UInt64(delta)) }
        let bloom = BloomFilter(keys: index.dedupeKeys)
        // Names and damage: a few hundred bytes, written the ordinary way.
        var tail = ByteWriter()
        let names = index.nameTable.values.sorted { ($0.kind.rawValue, $0.name) < ($1.kind.rawValue, $1.name) }
        for n in names {
            tail.u8(n.kind.rawValue)
            tail.string(n.name)
            // The count, so that opening an index never decodes a posting list to count names.
            tail.varint(UInt64(index.table.postingCount(IndexKey.of(n.kind, n.name))))
        }
        let damageAt = tail.count
        for d in index.damage {
            tail.u64(d.offset)
            tail.u64(d.length)
            tail.u64(d.lostSeqs?.lowerBound ?? 0)
            tail.u64(d.lostSeqs?.upperBound ?? 0)
            tail.string(d.reason)
        }
        // The body's sections, in order.
        let framesOffset = directorySize
        let keysOffset = framesOffset + index.frames.count * frameEntrySize
        let postingsOffset = keysOffset + postings.keys.count * keyEntrySize
        let bloomOffset = (postingsOffset + postingsLength + 7) / 8 * 8
        let namesOffset = bloomOffset + bloom.words.count * 8
        let bodyLength = namesOffset + tail.count
        let bodyStart = headLength(bodyLength: bodyLength)
        return [UInt8](unsafeUninitializedCapacity: bodyStart + bodyLength) { buffer, count in
            let file = UnsafeMutableRawBufferPointer(buffer)
            var body = SizedByteWriter(file, at: bodyStart)
            for v in [
                framesOffset, index.frames.count, keysOffset, postings.keys.count, postingsOffset, postingsLength,
                bloomOffset, bloom.words.count, namesOffset, names.count, namesOffset + damageAt, index.damage.count,
            ] { body.u64(UInt64(v)) }
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
            // Key entries and their postings side by side: a key's entry holds where its postings start.
            var keys = body
            body.seek(to: bodyStart + postingsOffset)
            var rankWritten = -1
            postings.forEachDelta { rank, delta in
                // Every key has at least one posting: its entry goes in before its first delta.
                if rank != rankWritten {
                    keys.u64(postings.keys[rank])
                    keys.u32(UInt32(body.offset - bodyStart - postingsOffset))
                    rankWritten = rank
                }
                body.varint(UInt64(delta))
            }
            precondition(keys.offset == bodyStart + postingsOffset, "IndexFile.encode: key table sized wrong")
            body.zeros(bodyStart + bloomOffset - body.offset)
            for w in bloom.words { body.u64(w) }
            tail.bytes.withUnsafeBytes { body.bytes($0) }
            precondition(body.offset == bodyStart + bodyLength, "IndexFile.encode: sections sized wrong")
            writeHead(
                into: file, bodyLength: bodyLength, baseSeq: index.baseSeq, endSeq: index.endSeq, logLength: logLength,
                createdMicros: createdMicros)
            count = bodyStart + bodyLength
        }
    }

    /// The length of a version 2 file's header and page checksum table, for a body of `bodyLength`.
    private static func headLength(bodyLength: Int) -> Int {
        FileHeader.size + 4 + 4 * PageChecksums.pageCount(bodyLength) + 4
    }

    /// Writes a version 2 file's header and page checksum table in front of the body of `bodyLength`
    /// bytes already in `file` (which is exactly head and body long).
    private static func writeHead(
        into file: UnsafeMutableRawBufferPointer, bodyLength: Int, baseSeq: UInt64, endSeq: UInt64, logLength: UInt64,
        createdMicros: Int64
    ) {
        let bodyStart = headLength(bodyLength: bodyLength)
        precondition(file.count == bodyStart + bodyLength)
        let pages = PageChecksums.pageCount(bodyLength)
        var table = SizedByteWriter(file, at: FileHeader.size)
        table.u32(UInt32(pages))
        for p in 0..<pages {
            let start = bodyStart + p * PageChecksums.pageSize
            table.u32(
                hooklog_crc32c_extend(0, file.baseAddress! + start, min(PageChecksums.pageSize, file.count - start)))
        }
        table.u32(hooklog_crc32c_extend(0, file.baseAddress! + FileHeader.size, table.offset - FileHeader.size))
        let header = FileHeader(
            kind: .index, version: FileHeader.indexVersion, baseSeq: baseSeq, createdMicros: createdMicros,
            extra: [endSeq, logLength, UInt64(file.count - FileHeader.size)])
        var front = SizedByteWriter(file)
        header.encoded().withUnsafeBytes { front.bytes($0) }
    }

    /// For a version 1 file (checked whole when opened): the same index as a version 2 file, so that
    /// the writer can upgrade an archive's indexes without reading its logs. Nil for a version 2 file.
    func upgraded() -> [UInt8]? {
        guard pages == nil else { return nil }
        let body = file.copy(FileHeader.size..<(file.count - 4))
        let bodyStart = Self.headLength(bodyLength: body.count)
        return [UInt8](unsafeUninitializedCapacity: bodyStart + body.count) { buffer, count in
            let out = UnsafeMutableRawBufferPointer(buffer)
            var w = SizedByteWriter(out, at: bodyStart)
            body.withUnsafeBytes { w.bytes($0) }
            Self.writeHead(
                into: out, bodyLength: body.count, baseSeq: baseSeq, endSeq: endSeq, logLength: logLength,
                createdMicros: createdMicros)
            count = bodyStart + body.count
        }
    }

    /// Maps and validates an index file.
    ///
    /// - Throws: `StoreError` (`corrupt`, `notFound`, `unsupportedVersion`) when it cannot be used; the
    ///   caller rebuilds from the log.
    init(path: String, segmentPath: String) throws(StoreError) {
        let file = try MappedFile(path: path)
        let raw = file.bytes
        let header = try FileHeader.decode(Array(raw.prefix(FileHeader.size)), kind: .index, path: path)
        guard header.extra[2] == UInt64(raw.count - FileHeader.size) else {
            throw StoreError(.corrupt, "\(path): length does not match its header", path: path)
        }
        // The body (`b..<end`): after the header in version 1, with its checksum after it; after the
        // page checksum table in version 2.
        let b: Int
        let end: Int
        if header.version == 1 {
            guard raw.count >= FileHeader.size + Self.directorySize + 4 else {
                throw StoreError(.corrupt, "\(path): length does not match its header", path: path)
            }
            // Computed from the file (see `MappedFile`: not through the map).
            guard try MappedFile.checksum(path: path, FileHeader.size..<(raw.count - 4)) == file.u32(at: raw.count - 4)
            else {
                throw StoreError(.corrupt, "\(path): checksum mismatch", path: path)
            }
            (b, end) = (FileHeader.size, raw.count - 4)
            pages = nil
        } else {
            let t = FileHeader.size
            guard raw.count >= t + 8 else {
                throw StoreError(.corrupt, "\(path): length does not match its header", path: path)
            }
            let count = Int(file.u32(at: t))
            let tableEnd = t + 4 + 4 * count + 4
            guard tableEnd <= raw.count, PageChecksums.pageCount(raw.count - tableEnd) == count,
                raw.count - tableEnd >= Self.directorySize
            else { throw StoreError(.corrupt, "\(path): length does not match its page table", path: path) }
            guard hooklog_crc32c_extend(0, raw.baseAddress! + t, tableEnd - 4 - t) == file.u32(at: tableEnd - 4) else {
                throw StoreError(.corrupt, "\(path): page table checksum mismatch", path: path)
            }
            let checks = PageChecksums(
                file: file, bodyStart: tableEnd, checksums: (0..<count).map { file.u32(at: t + 4 + 4 * $0) })
            guard checks.verify(tableEnd..<(tableEnd + Self.directorySize)) else {
                throw StoreError(.corrupt, "\(path): checksum mismatch", path: path)
            }
            (b, end) = (tableEnd, raw.count)
            pages = checks
        }
        let bodyLength = end - b
        // A checksum proves the bytes are as written, not that they make sense: every directory slot (an
        // offset into the body or a count of entries) must fit the body before any arithmetic is done on it.
        func dir(_ i: Int) throws(StoreError) -> Int {
            let v = file.u64(at: b + i * 8)
            guard v <= UInt64(bodyLength) else {
                throw StoreError(.corrupt, "\(path): sections out of bounds", path: path)
            }
            return Int(v)
        }
        let (framesOffset, frameCount) = (b + (try dir(0)), try dir(1))
        keysOffset = b + (try dir(2))
        keyCount = try dir(3)
        postingsOffset = b + (try dir(4))
        postingsLength = try dir(5)
        bloomOffset = b + (try dir(6))
        bloomWords = try dir(7)
        let (namesOffset, nameCount, damageOffset, damageCount) = (
            b + (try dir(8)), try dir(9), b + (try dir(10)), try dir(11)
        )
        guard framesOffset + frameCount * Self.frameEntrySize <= end, keysOffset + keyCount * Self.keyEntrySize <= end,
            postingsOffset + postingsLength <= end, bloomOffset + bloomWords * 8 <= end, namesOffset <= end,
            damageOffset <= end, damageOffset >= namesOffset
        else { throw StoreError(.corrupt, "\(path): sections out of bounds", path: path) }
        // What is read now is checked now; the frame table, key table, postings and Bloom filter as they
        // are first read.
        guard pages?.verify(namesOffset..<end) ?? true else {
            throw StoreError(.corrupt, "\(path): checksum mismatch", path: path)
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
                guard let count = Int(exactly: try r.varint()), count <= Int(UInt32.max) else {
                    throw ByteReader.Overrun()
                }
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
        baseSeq = header.baseSeq
        endSeq = header.extra[0]
        logLength = header.extra[1]
        createdMicros = header.createdMicros
        framesAt = framesOffset..<(framesOffset + frameCount * Self.frameEntrySize)
        self.damage = damage
        self.file = file
        self.segmentPath = segmentPath
        nameList = names
        if pages == nil, let problem = framesProblem() {
            // Version 1: everything was checked on open, and a bad frame table refused the file then.
            throw StoreError(.corrupt, "\(path): \(problem)", path: path)
        }
    }

    private enum FramesState {
        case unread
        case read([FrameInfo])
        /// Damaged (a page's checksum) or impossible (see `framesFit`): why.
        case bad(String)
    }

    /// The frame table, read and checked on first use: a query for one entity in a 10 M-event archive
    /// reads the frames of the few segments holding it, not 9.7 MB of frame tables. If it is damaged or
    /// does not fit the log, the frames of the index rebuilt from the log.
    var frames: [FrameInfo] {
        if case .read(let frames) = readFrames() { return frames }
        return rebuilt()?.frames ?? []
    }

    /// Why the frame table cannot be used (reading it if not yet read), or nil if it can.
    func framesProblem() -> String? {
        if case .bad(let why) = readFrames() { return why }
        return nil
    }

    private func readFrames() -> FramesState {
        loadedFrames.withLock { state in
            if case .unread = state { state = loadFrames() }
            return state
        }
    }

    private func loadFrames() -> FramesState {
        guard pages?.verify(framesAt) ?? true else {
            return .bad("checksum mismatch in the page at body offset \(firstDamagedOffset() ?? 0)")
        }
        let count = framesAt.count / Self.frameEntrySize
        var frames: [FrameInfo] = []
        frames.reserveCapacity(count)
        for i in 0..<count { frames.append(decodeFrameEntry(i)) }
        guard Self.framesFit(frames, baseSeq: baseSeq, endSeq: endSeq, logLength: logLength) else {
            return .bad("its frame table does not fit its log")
        }
        return .read(frames)
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
            guard frameFits(f, from: end, seq: seq, endSeq: endSeq, logLength: logLength) else { return false }
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

    /// Whether frame `f` fits on its own: inside a log of `logLength` bytes from offset `end` on, its
    /// seqs from `seq` on and before `endSeq` (in that order, so no subtraction can overflow).
    static func frameFits(_ f: FrameInfo, from end: UInt64, seq: UInt64, endSeq: UInt64, logLength: UInt64) -> Bool {
        f.offset >= end && f.offset <= logLength && UInt64(f.header.totalLength) <= logLength - f.offset
            && f.header.count > 0 && f.firstSeq >= seq && f.firstSeq <= endSeq
            && UInt64(f.header.count) <= endSeq - f.firstSeq
    }

    /// Entry `i` of the frame table as written, unchecked.
    private func decodeFrameEntry(_ i: Int) -> FrameInfo {
        let o = framesAt.lowerBound + i * Self.frameEntrySize
        let h = FrameHeader(
            compressedLength: file.u32(at: o + 28), uncompressedLength: file.u32(at: o + 32),
            firstSeq: file.u64(at: o + 16), count: file.u32(at: o + 24),
            flags: UInt16(truncatingIfNeeded: file.u32(at: o + 36)),
            minTime: Int64(bitPattern: file.u64(at: o + 40)), maxTime: Int64(bitPattern: file.u64(at: o + 48)))
        return FrameInfo(offset: file.u64(at: o), blockStart: file.u64(at: o + 8), header: h)
    }

    /// Entry `i` of the frame table, read from the map; nil if its page fails its checksum or the entry
    /// does not fit on its own (`frameFits`), so that its `end` and `endSeq` can be computed without
    /// overflow.
    private func frameEntry(_ i: Int) -> FrameInfo? {
        let o = framesAt.lowerBound + i * Self.frameEntrySize
        guard verified(o..<(o + Self.frameEntrySize)), baseSeq <= endSeq else { return nil }
        let f = decodeFrameEntry(i)
        return Self.frameFits(f, from: UInt64(FileHeader.size), seq: baseSeq, endSeq: endSeq, logLength: logLength)
            ? f : nil
    }

    /// Where the last frame ends, from the table's last entry alone (a reader checks that a checkpoint
    /// index covers the log up to its recorded length without decoding thousands of entries); nil for
    /// an empty table. An entry that does not fit reads the whole table (`frames`: checked, or rebuilt).
    var lastFrameEnd: UInt64? {
        switch loadedFrames.withLock({ $0 }) {
        case .read(let all): return all.last?.end
        case .bad: return frames.last?.end
        case .unread:
            let count = framesAt.count / Self.frameEntrySize
            guard count > 0 else { return nil }
            return frameEntry(count - 1)?.end ?? frames.last?.end
        }
    }

    /// The frame table entries for these ordinals, read from the map without decoding the whole table
    /// (a 10 M-event archive's segment has thousands of frames: decoding them all was 12 % of a cold
    /// `query --entity`). Each entry read must fit the log and the segment's seqs, the frames of a block
    /// must follow each other, and every ordinal must fall in a frame; anything else (and a table found
    /// bad before) reads the whole table, which `framesFit` checks as a whole or replaces by one rebuilt
    /// from the log. A frame found here is also checked against the log's own frame header when read.
    func frames(holding ordinals: [UInt32]) -> [FrameInfo] {
        let count = framesAt.count / Self.frameEntrySize
        switch loadedFrames.withLock({ $0 }) {
        case .read(let all): return all
        case .bad: return frames
        case .unread: break
        }
        guard ordinals.count <= 64, count > 0 else { return frames }
        let entry = frameEntry
        var picked: [Int] = []
        for ordinal in ordinals {
            let seq = baseSeq + UInt64(ordinal)
            if let last = picked.last, let f = entry(last), f.firstSeq <= seq, seq < f.endSeq { continue }
            // The last frame whose first seq is at most `seq`.
            var (lo, hi) = (0, count)
            while lo < hi {
                let mid = (lo + hi) / 2
                guard let f = entry(mid) else { return frames }
                if f.firstSeq <= seq { lo = mid + 1 } else { hi = mid }
            }
            // In no frame: damage recorded in the index, or a table that does not hold together.
            guard lo > 0, let f = entry(lo - 1), seq < f.endSeq else { return frames }
            // Back to its block's first frame.
            var first = lo - 1
            while first > 0 {
                guard let g = entry(first) else { return frames }
                if g.header.startsBlock { break }
                first -= 1
            }
            for i in first...(lo - 1) where picked.last.map({ i > $0 }) ?? true { picked.append(i) }
        }
        var out: [FrameInfo] = []
        out.reserveCapacity(picked.count)
        for i in picked {
            guard let f = entry(i) else { return frames }
            out.append(f)
        }
        // The whole table's rules (`framesFit`) between these frames (`frameEntry` checked each alone):
        // a frame that continues a block right after the one before it in the table, all in file and
        // seq order.
        for (k, f) in out.enumerated() {
            if f.header.startsBlock {
                guard f.blockStart == f.offset else { return frames }
            } else {
                guard k > 0, picked[k - 1] == picked[k] - 1, out[k - 1].end == f.offset,
                    out[k - 1].blockStart == f.blockStart
                else { return frames }
            }
            // In file and seq order.
            if k > 0, out[k - 1].end > f.offset || out[k - 1].endSeq > f.firstSeq { return frames }
        }
        return out
    }

    func names(_ kind: IndexKey.Kind) -> [(name: String, count: Int)] {
        nameList.filter { $0.kind == kind }.map { ($0.name, $0.count) }
    }

    /// Whether every page of `range` holds its checksum (always, for a version 1 file: checked whole).
    @inline(__always)
    private func verified(_ range: Range<Int>) -> Bool { pages?.verify(range) ?? true }

    /// Search in the sorted key table: the entry's index, nil if absent; throws if a page it read is
    /// damaged.
    ///
    /// Keys are 64-bit hashes, spread close to evenly over their range, so a key's place in the table
    /// is about its fraction of the range between two known keys: a few such guesses (interpolation)
    /// narrow the search to a handful of entries, then a binary search finishes. Every guess is an
    /// ordinary comparison that keeps `lo..<hi` holding the key if present, so an uneven table costs
    /// probes, never a wrong answer. A binary search over the 330k keys of a full segment took about 19
    /// probes on as many pages of the mapped file, most of them cache misses; this was a quarter of a
    /// warm entity lookup's time on the 10 M-event archive (35 segments).
    private func find(_ key: UInt64) throws(PageDamage) -> Int? {
        let key = key == 0 ? 1 : key
        var lo = 0
        var hi = keyCount
        // Every key at lo..<hi lies in loKey...hiKey.
        var loKey: UInt64 = 0
        var hiKey: UInt64 = .max
        var guesses = 0
        while hi - lo > 8 && guesses < 4 {
            guesses += 1
            guard key >= loKey, key <= hiKey, hiKey > loKey else { break }
            let fraction = Double(key - loKey) / Double(hiKey - loKey)
            let mid = min(hi - 1, max(lo, lo + Int(fraction * Double(hi - lo))))
            let at = keysOffset + mid * Self.keyEntrySize
            guard verified(at..<(at + 8)) else { throw PageDamage() }
            let k = file.u64(at: at)
            if k < key {
                lo = mid + 1
                loKey = k
            } else if k > key {
                hi = mid
                hiKey = k
            } else {
                return mid
            }
        }
        while lo < hi {
            let mid = (lo + hi) / 2
            let at = keysOffset + mid * Self.keyEntrySize
            guard verified(at..<(at + 8)) else { throw PageDamage() }
            let k = file.u64(at: at)
            if k < key { lo = mid + 1 } else if k > key { hi = mid } else { return mid }
        }
        return nil
    }

    /// A page of this file failed its checksum.
    private struct PageDamage: Error {}

    func postings(_ key: UInt64) -> [UInt32] {
        do throws(PageDamage) {
            guard let i = try find(key) else { return [] }
            let at = keysOffset + i * Self.keyEntrySize
            let next = i + 1 < keyCount ? at + 2 * Self.keyEntrySize : at + Self.keyEntrySize
            guard verified(at..<next) else { throw PageDamage() }
            let start = postingsOffset + Int(file.u32(at: at + 8))
            let stop =
                postingsOffset + (i + 1 < keyCount ? Int(file.u32(at: at + Self.keyEntrySize + 8)) : postingsLength)
            // Offsets that do not make a range inside the postings (a checksum proves the bytes are as
            // written, not that they make sense): no postings, as `decodePostings` would say.
            guard start <= stop, stop <= postingsOffset + postingsLength else { return [] }
            guard verified(start..<stop) else { throw PageDamage() }
            return Self.decodePostings(
                file, keysOffset: keysOffset, keyCount: keyCount, postingsOffset: postingsOffset,
                postingsLength: postingsLength, entry: i)
        } catch {
            return rebuilt()?.postings(key) ?? []
        }
    }

    func summaryKeys() -> [UInt64]? {
        guard verified(keysOffset..<(keysOffset + keyCount * Self.keyEntrySize)) else {
            return rebuilt()?.summaryKeys()
        }
        var keys: [UInt64] = []
        keys.reserveCapacity(keyCount)
        for i in 0..<keyCount { keys.append(file.u64(at: keysOffset + i * Self.keyEntrySize)) }
        return keys
    }

    /// The index rebuilt from the log (once), for a file with a damaged page; nil if even that fails.
    private func rebuilt() -> MemoryIndex? {
        fallback.withLock { index in
            if index == nil, let log = try? RawFile(path: segmentPath, flags: O_RDONLY) {
                index = try? LogWriter.rebuildIndex(file: log, base: baseSeq, length: logLength)
            }
            return index
        }
    }

    /// Checks every page (for `check`): nil if all hold, else the first bad page's body offset.
    func firstDamagedOffset() -> Int? {
        pages?.firstBadPage().map { $0 * PageChecksums.pageSize }
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

    /// Checks the Bloom filter and brings its pages into memory now, rather than in the first dedupe
    /// probe: the writer probes it inside a commit, and a newly written index file is out of the page
    /// cache (`FileSystem.writeAtomically(uncached:)`), so that first probe faulted in its pages one by
    /// one, every acknowledgement waiting (a 400k-event segment's filter: a 16 ms commit).
    func loadDedupeFilter() {
        _ = mightContain(dedupeKey: 0)
    }

    func mightContain(dedupeKey: UInt64) -> Bool {
        var state = bloomState.load(ordering: .acquiring)
        if state == 0 {
            state = verified(bloomOffset..<(bloomOffset + bloomWords * 8)) ? 1 : 2
            bloomState.store(state, ordering: .releasing)
        }
        guard state == 1 else { return rebuilt()?.mightContain(dedupeKey: dedupeKey) ?? true }
        return BloomFilter.mightContain(dedupeKey, wordCount: bloomWords) { file.u64(at: bloomOffset + $0 * 8) }
    }
}
