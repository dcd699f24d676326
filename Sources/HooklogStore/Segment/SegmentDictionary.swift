/// The LZ4 dictionary of a recompressed segment (format version 2; docs/FORMAT.md, "Dictionary section").
///
/// A sealed segment is recompressed as independent 64 KB blocks. Compressed alone, a block starts with no
/// history and its first kilobytes compress poorly; compressed against a dictionary, every block starts
/// warm. The dictionary is a sample of the segment's own records (every k-th, about 64 KB in all), so it
/// knows the shapes of the events that segment holds, whatever their source; measured on the benchmark
/// corpus at LZ4HC level 4 it saves 21 % of the bytes, where the segment's first 64 KB saved 17 %.
///
/// Every block of such a segment depends on the dictionary, so it is stored twice, each copy with its
/// own checksum: one damaged copy loses nothing. It is written right after the file header, LZ4HC-
/// compressed; the header's `extra[0]` is the section's length, and frames start after it.
enum SegmentDictionary {
    /// "HLD1" little-endian.
    static let magic: UInt32 = 0x3144_4C48
    /// Magic, CRC32C, compressed length, uncompressed length.
    static let entryHeaderSize = 16
    /// LZ4 reaches back 64 KB: a longer dictionary would not be used.
    static let maxLength = 64 << 10

    /// Where a segment's frames start, and its dictionary (nil for a version 1 segment, and for a version
    /// 2 segment whose copies are both damaged: its dictionary frames then do not decode).
    struct Layout: Sendable {
        var framesStart: UInt64
        var dictionary: [UInt8]?
        /// Why a version 2 segment has no dictionary.
        var problem: String?
        /// One of the two copies failed while the other served (known only when both were read: see
        /// `layout(file:header:checkingBothCopies:)`).
        var oneCopyDamaged = false

        static let plain = Layout(framesStart: UInt64(FileHeader.size), dictionary: nil, problem: nil)
    }

    /// Every `k`-th record of a segment whose records total `uncompressedBytes` makes its dictionary, `k`
    /// chosen so that the sample is about `maxLength` bytes, or a 32nd of the records in a small segment
    /// (stored twice, a dictionary as large as the segment would cost more than it saves).
    static func sampleStride(uncompressedBytes: UInt64, recordCount: Int) -> Int {
        guard recordCount > 0, uncompressedBytes > 0 else { return 1 }
        let average = max(1, Int(uncompressedBytes) / recordCount)
        let target = min(UInt64(maxLength), uncompressedBytes / 32)
        let wanted = max(1, Int(target) / average)
        return max(1, recordCount / wanted)
    }

    /// The section for `dictionary` (at most `maxLength` bytes): two identical checksummed copies.
    static func section(_ dictionary: [UInt8]) -> [UInt8] {
        precondition(!dictionary.isEmpty && dictionary.count <= maxLength, "dictionary of \(dictionary.count) bytes")
        let compressed = BlockDecoder.compressHC(dictionary, level: 9)
        var entry = ByteWriter(capacity: entryHeaderSize + compressed.count)
        entry.u32(magic)
        entry.u32(0)  // CRC, patched below
        entry.u32(UInt32(compressed.count))
        entry.u32(UInt32(dictionary.count))
        entry.bytes.append(contentsOf: compressed)
        entry.patchU32(CRC32C.checksum(entry.bytes, range: 8..<entry.count), at: 4)
        return entry.bytes + entry.bytes
    }

    /// The dictionary of the copy at `offset` of `bytes`, if it is whole and holds its checksum.
    static func decodeCopy(_ bytes: [UInt8], at offset: Int) -> [UInt8]? {
        guard offset >= 0, bytes.count - offset >= entryHeaderSize,
            bytes.loadU32(at: offset) == magic
        else { return nil }
        let compressed = Int(bytes.loadU32(at: offset + 8))
        let length = Int(bytes.loadU32(at: offset + 12))
        guard length > 0, length <= maxLength, compressed > 0, bytes.count - offset - entryHeaderSize >= compressed,
            CRC32C.checksum(bytes, range: (offset + 8)..<(offset + entryHeaderSize + compressed))
                == bytes.loadU32(at: offset + 4)
        else { return nil }
        return try? BlockDecoder.decodeRun(bytes, frames: [(offset + entryHeaderSize, compressed, length)])
    }

    /// The layout of a section of two copies of `copyLength` bytes each, read from `bytes` (the section)
    /// and followed by frames from `framesStart`. The second copy is decoded only if the first fails, or
    /// if `checkingBothCopies` (for `check`, which reports a damaged copy even while the other serves).
    private static func layout(
        section bytes: [UInt8], copyLength: Int, framesStart: UInt64, checkingBothCopies: Bool
    ) -> Layout {
        let first = decodeCopy(bytes, at: 0)
        let second = first == nil || checkingBothCopies ? decodeCopy(bytes, at: copyLength) : nil
        let dictionary = first ?? second
        var layout = Layout(
            framesStart: framesStart, dictionary: dictionary,
            problem: dictionary == nil ? "both copies of the segment's dictionary are damaged" : nil)
        layout.oneCopyDamaged = dictionary != nil && (first == nil || (checkingBothCopies && second == nil))
        return layout
    }

    /// Reads the layout of the segment `file` whose header is `header` (nil: the header is damaged, and
    /// a dictionary section is looked for after it all the same).
    static func layout(
        file: RawFile, header: FileHeader?, checkingBothCopies: Bool = false
    ) throws(StoreError) -> Layout {
        let start = UInt64(FileHeader.size)
        guard let header else {
            // A damaged header: if a whole copy of a dictionary section follows it, frames start after
            // both copies (they have the same length); otherwise frames are looked for from the header on.
            let first = try file.read(at: start, count: entryHeaderSize)
            guard first.count == entryHeaderSize, first.loadU32(at: 0) == magic else { return .plain }
            let copy = UInt64(entryHeaderSize) + UInt64(first.loadU32(at: 8))
            guard copy <= UInt64(entryHeaderSize + maxLength + maxLength / 255 + 16) else { return .plain }
            return layout(
                section: try file.read(at: start, count: Int(2 * copy)), copyLength: Int(copy),
                framesStart: start + 2 * copy,
                checkingBothCopies: checkingBothCopies)
        }
        guard header.version >= FileHeader.dictionarySegmentVersion else { return .plain }
        let length = header.extra[0]
        let size = try file.size()
        guard length >= UInt64(2 * entryHeaderSize), length % 2 == 0,
            length <= 2 * UInt64(entryHeaderSize + 2 * maxLength),
            start + length <= size
        else {
            // A header whose checksum holds but whose section length cannot be (written wrong): frames are
            // looked for from the header on, as after a damaged header; those that need the dictionary
            // are damage, the archive stays readable.
            return Layout(
                framesStart: start, dictionary: nil,
                problem: "the dictionary section's length (\(length) bytes) does not fit the file")
        }
        return layout(
            section: try file.read(at: start, count: Int(length)), copyLength: Int(length / 2),
            framesStart: start + length,
            checkingBothCopies: checkingBothCopies)
    }

    /// The layout of the segment `file`, read once for the open file and then kept with it.
    static func cachedLayout(file: RawFile) throws(StoreError) -> Layout {
        if let known = file.segmentLayout.withLock({ $0 }) { return known }
        let header = try? FileHeader.decode(
            try file.read(at: 0, count: FileHeader.size), kind: .segment, path: file.path)
        let layout = try Self.layout(file: file, header: header)
        file.segmentLayout.withLock { $0 = layout }
        return layout
    }
}
