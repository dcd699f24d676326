import CCRC32C

#if canImport(Glibc)
import Glibc
#endif

/// The archive's key summary: one blocked Bloom filter per sealed segment over its index keys, all in two files of the log directory (layout: docs/FORMAT.md, "Key summary"), so that a
/// lookup of one entity opens only the segments that may hold it.
///
/// Why: a cold `query --entity` on a 10 M-event archive (35 segments) spent 2.7 ms opening every
/// segment's index and searching its key table, against 1.5 ms for the whole `sqlite3` run. With the
/// summary it reads one 4 KB page per segment from one file and opens the one or two segments that
/// answer "maybe".
///
/// Derived data, like the index files: the writer appends a segment's filter when it seals it and adds
/// any missing ones on open. A reader trusts a filter only when its directory entry checks, names a
/// listed segment and ends where the next segment begins, and the page it reads holds its checksum
/// (seeded with the segment's base seq, the filter's place and the page's number, so a page of another
/// filter, or one written elsewhere, never passes); otherwise it opens the segment. The filter holds
/// every key of the segment's index, so a 64-bit key collision costs a read, never an event. A summary
/// can make a lookup slower, never wrong.
struct KeySummary: Sendable {
    /// The directory file (small: 32 bytes a segment), read whole.
    static let directoryName = "keys.dir"
    /// The filters, page-aligned, each page checksummed.
    static let filterName = "keys.bloom"
    static let directoryMagic: [UInt8] = Array("HLKEYDIR".utf8)
    static let filterMagic: [UInt8] = Array("HLKEYBLM".utf8)
    /// 2: page checksums seeded with the filter's place (version 1 files, from one development build,
    /// are replaced when the writer opens).
    static let version: UInt32 = 2
    static let entrySize = 32
    static let pageSize = 4096
    static let lineSize = 64
    /// Filter lines a page: the last line holds the page checksum.
    static let linesPerPage = pageSize / lineSize - 1
    /// Bits a key: with 7 probes in one 512-bit line, about 1 % false positives.
    static let bitsPerKey = 12
    static let probes = 7
    /// Bounds an entry must keep (a checksum proves bytes are as written, not that they make sense):
    /// a filter of at most 2^26 lines (4 GB) starting below 2^48, so no offset arithmetic can overflow.
    static let maxLineCount: UInt32 = 1 << 26
    static let maxOffset: UInt64 = 1 << 48

    /// One segment's filter, as its directory entry describes it.
    struct Entry: Equatable, Sendable {
        var baseSeq: UInt64
        var endSeq: UInt64
        /// Byte offset of the filter's first page in the filter file (a multiple of `pageSize`).
        var offset: UInt64
        /// Number of 64-byte filter lines.
        var lineCount: UInt32

        var pageCount: Int { (Int(lineCount) + KeySummary.linesPerPage - 1) / KeySummary.linesPerPage }

        func encoded() -> [UInt8] {
            var w = ByteWriter(capacity: KeySummary.entrySize)
            w.u64(baseSeq)
            w.u64(endSeq)
            w.u64(offset)
            w.u32(lineCount)
            w.u32(CRC32C.checksum(w.bytes))
            return w.bytes
        }

        /// The entry at `at` in `bytes`, or nil when it fails its checksum or makes no sense.
        static func decode(_ bytes: [UInt8], at: Int) -> Entry? {
            guard at + KeySummary.entrySize <= bytes.count else { return nil }
            var r = ByteReader(bytes, from: at, to: at + KeySummary.entrySize)
            guard let base = try? r.u64(), let end = try? r.u64(), let offset = try? r.u64(), let lines = try? r.u32(),
                let crc = try? r.u32(), crc == CRC32C.checksum(bytes, range: at..<(at + 28)),
                base < end, lines > 0, lines <= KeySummary.maxLineCount, offset % UInt64(KeySummary.pageSize) == 0,
                offset >= UInt64(KeySummary.pageSize), offset <= KeySummary.maxOffset
            else { return nil }
            return Entry(baseSeq: base, endSeq: end, offset: offset, lineCount: lines)
        }
    }

    /// The directory file's 32-byte header.
    static func directoryHeader() -> [UInt8] {
        var w = ByteWriter(capacity: entrySize)
        w.bytes.append(contentsOf: directoryMagic)
        w.u32(version)
        while w.count < entrySize - 4 { w.u8(0) }
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// The valid entries of a directory file's bytes, the last one for each base seq; nil when the
    /// header is not a version this build reads.
    static func entries(ofDirectory bytes: [UInt8]) -> [Entry]? {
        guard bytes.count >= entrySize, Array(bytes[0..<entrySize]) == directoryHeader() else { return nil }
        var out: [Entry] = []
        var ascending = true
        var at = entrySize
        while at + entrySize <= bytes.count {
            if let e = decode(bytes, at: at) {
                if let last = out.last, last.baseSeq >= e.baseSeq { ascending = false }
                out.append(e)
            }
            at += entrySize
        }
        // The writer appends in base order, so this is the whole work (no generic sort: its first use
        // costs a cold query a metadata instantiation). Otherwise (a filter written again after a crash,
        // or a hand-edited file): sorted by base seq, the later entry for a base replacing the earlier.
        if ascending { return out }
        var sorted: [Entry] = []
        for (_, e) in out.enumerated().sorted(by: { ($0.element.baseSeq, $0.offset) < ($1.element.baseSeq, $1.offset) })
        {
            if sorted.last?.baseSeq == e.baseSeq { sorted[sorted.count - 1] = e } else { sorted.append(e) }
        }
        return sorted
    }

    private static func decode(_ bytes: [UInt8], at: Int) -> Entry? { Entry.decode(bytes, at: at) }

    // MARK: The filter

    /// A key as the indexes store it (0 is the posting table's empty slot, stored as 1).
    @inline(__always)
    static func normalize(_ key: UInt64) -> UInt64 { key == 0 ? 1 : key }

    /// The line a key falls in, of `lineCount`.
    @inline(__always)
    static func line(of key: UInt64, lineCount: Int) -> Int {
        Int((UInt64(UInt32(truncatingIfNeeded: key >> 32)) &* UInt64(lineCount)) >> 32)
    }

    /// The bit positions (0..<512) a key sets in its line: 9 bits each from a second, remixed hash.
    @inline(__always)
    static func bits(of key: UInt64, _ body: (Int) -> Void) {
        var z = key &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        z ^= z >> 31
        for i in 0..<probes { body(Int((z >> UInt64(9 * i)) & 511)) }
    }

    /// The number of filter lines for `keyCount` keys.
    static func lineCount(keyCount: Int) -> UInt32 {
        UInt32(min(Int(maxLineCount), max(1, (keyCount * bitsPerKey + 511) / 512)))
    }

    /// The filter pages of a segment holding `keys`, to be written at `offset` of the filter file: whole
    /// pages, each with its filter lines then a checksum line.
    static func filterPages(keys: [UInt64], baseSeq: UInt64, offset: UInt64) -> (pages: [UInt8], lineCount: UInt32) {
        let lines = lineCount(keyCount: keys.count)
        let lineCount = Int(lines)
        let pageCount = (lineCount + linesPerPage - 1) / linesPerPage
        var pages = [UInt8](repeating: 0, count: pageCount * pageSize)
        for key in keys {
            let k = normalize(key)
            let l = line(of: k, lineCount: lineCount)
            let start = (l / linesPerPage) * pageSize + (l % linesPerPage) * lineSize
            bits(of: k) { bit in pages[start + bit >> 3] |= 1 << UInt8(bit & 7) }
        }
        let entry = Entry(baseSeq: baseSeq, endSeq: baseSeq + 1, offset: offset, lineCount: lines)
        for p in 0..<pageCount {
            let crc = pageChecksum(pages, at: p * pageSize, entry: entry, page: p)
            let at = p * pageSize + linesPerPage * lineSize
            for i in 0..<4 { pages[at + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        }
        return (pages, lines)
    }

    /// The checksum of the page at `at` of `bytes` (its filter lines), seeded with where it belongs:
    /// the segment's base seq, the filter's offset and line count, and the page's number in the filter.
    /// A page of any other filter, or of this one at another place, never passes.
    static func pageChecksum(_ bytes: [UInt8], at: Int, entry: Entry, page: Int) -> UInt32 {
        var seedBytes = ByteWriter(capacity: 24)
        seedBytes.u64(entry.baseSeq)
        seedBytes.u64(entry.offset)
        seedBytes.u32(entry.lineCount)
        seedBytes.u32(UInt32(truncatingIfNeeded: page))
        let seed = CRC32C.checksum(seedBytes.bytes)
        return CRC32C.checksum(bytes, range: at..<(at + linesPerPage * lineSize), seed: seed)
    }

    /// Whether `page` (a whole page read from the filter file) holds its checksum as page number
    /// `number` of the filter `entry` describes.
    static func pageHolds(_ page: [UInt8], entry: Entry, number: Int) -> Bool {
        guard page.count == pageSize else { return false }
        let at = linesPerPage * lineSize
        let stored =
            UInt32(page[at]) | UInt32(page[at + 1]) << 8 | UInt32(page[at + 2]) << 16 | UInt32(page[at + 3]) << 24
        return stored == pageChecksum(page, at: 0, entry: entry, page: number)
    }
}
