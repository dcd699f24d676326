/// The 64-byte header that starts every segment (`.log`) and index (`.idx`) file (docs/FORMAT.md).
struct FileHeader: Equatable, Sendable {
    static let size = 64
    static let segmentMagic: [UInt8] = Array("HKLOGSEG".utf8)
    static let indexMagic: [UInt8] = Array("HKLOGIDX".utf8)
    /// The segment format version the writer gives new (active) segments. A recompressed segment is
    /// version 2 (`dictionarySegmentVersion`); this build reads both.
    static let currentVersion: UInt16 = 1
    /// A sealed segment recompressed with a dictionary: a dictionary section follows the header, and the
    /// header's `extra[0]` is its length (see `SegmentDictionary`).
    static let dictionarySegmentVersion: UInt16 = 2
    /// The index format version this build writes: 2 (a checksum per 4 KB page of the body). It also
    /// reads version 1 (one checksum over the whole body), so archives written before stay usable.
    static let indexVersion: UInt16 = 2

    /// The versions this build reads for a kind of file.
    static func readable(_ kind: Kind) -> ClosedRange<UInt16> {
        kind == .segment ? 1...dictionarySegmentVersion : 1...indexVersion
    }

    enum Kind { case segment, index }

    var kind: Kind
    var version: UInt16 = currentVersion
    /// The seq of the segment's first event.
    var baseSeq: UInt64
    /// When the file was made, µs since the epoch.
    var createdMicros: Int64
    /// Index files: end seq, log length, body length. Segments: `[dictionary section length, 0, 0]`.
    var extra: [UInt64] = [0, 0, 0]

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.bytes.append(contentsOf: kind == .segment ? Self.segmentMagic : Self.indexMagic)
        w.u16(version)
        w.u16(UInt16(Self.size))
        w.u32(0)
        w.u64(baseSeq)
        w.i64(createdMicros)
        for e in extra.prefix(3) { w.u64(e) }
        w.zeros(Self.size - 4 - w.count)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], kind: Kind, path: String) throws(StoreError) -> FileHeader {
        guard bytes.count >= size else {
            throw StoreError(.corrupt, "\(path) is shorter than its \(size)-byte header", path: path)
        }
        let magic = kind == .segment ? segmentMagic : indexMagic
        guard Array(bytes[0..<8]) == magic else {
            throw StoreError(.corrupt, "\(path) is not a hooklog \(kind) file (bad magic)", path: path)
        }
        guard CRC32C.checksum(bytes[0..<(size - 4)]) == bytes.loadU32(at: size - 4) else {
            throw StoreError(.corrupt, "\(path): header checksum mismatch", path: path)
        }
        var r = ByteReader(bytes, from: 8, to: size)
        do {
            let version = try r.u16()
            let readable = readable(kind)
            guard readable.contains(version) else {
                let versions =
                    readable.count == 1
                    ? "version \(readable.lowerBound)" : "versions \(readable.lowerBound) to \(readable.upperBound)"
                throw StoreError(
                    .unsupportedVersion,
                    "\(path) has format version \(version); this hooklog reads \(versions): upgrade hooklog",
                    path: path)
            }
            _ = try r.u16()
            _ = try r.u32()
            let base = try r.u64()
            let created = try r.i64()
            let extra = [try r.u64(), try r.u64(), try r.u64()]
            return FileHeader(kind: kind, version: version, baseSeq: base, createdMicros: created, extra: extra)
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(.corrupt, "\(path): truncated header", path: path)
        }
    }
}
