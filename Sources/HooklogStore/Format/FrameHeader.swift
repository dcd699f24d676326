/// The fixed 48-byte header in front of every frame of a segment (see docs/FORMAT.md, "Frame").
///
/// A frame is what one group commit writes (or, for a commit larger than a block, one of several frames
/// it writes: see `flagCommitContinues`): the records of many batches, LZ4-compressed against the
/// frames before it in the same block. The header carries enough to validate the frame (magic, lengths,
/// CRC32C) and to skip it by seq and time without decompressing anything.
struct FrameHeader: Equatable, Sendable {
    static let size = 48
    /// "HLF1" little-endian: lets a reader find the next frame after damage.
    static let magic: UInt32 = 0x3146_4C48
    /// The frame starts a new block: the LZ4 history is reset, so it decodes on its own.
    static let flagStartsBlock: UInt16 = 1
    /// The frame is compressed with its segment's dictionary as LZ4 history (`SegmentDictionary`; only in
    /// a recompressed segment, format version 2). Such a frame also starts its block, and its block holds
    /// no other frame.
    static let flagUsesDictionary: UInt16 = 2
    /// More frames of the same commit follow this one. A group commit too large for one frame writes
    /// several, every one but the last with this flag; recovery and readers treat a run of frames that
    /// ends with the flag set as the torn tail of an interrupted commit, so that a commit (and with it
    /// every request in it) is kept whole or not at all. Files written before the flag existed have it
    /// on no frame: each of their frames was a commit of its own.
    static let flagCommitContinues: UInt16 = 4
    /// Frames larger than this are refused as damage rather than allocated.
    static let maxUncompressed: UInt32 = 256 << 20

    var compressedLength: UInt32
    var uncompressedLength: UInt32
    var firstSeq: UInt64
    var count: UInt32
    var flags: UInt16
    var minTime: Int64
    var maxTime: Int64

    var startsBlock: Bool { flags & Self.flagStartsBlock != 0 }
    var usesDictionary: Bool { flags & Self.flagUsesDictionary != 0 }
    var commitContinues: Bool { flags & Self.flagCommitContinues != 0 }
    var totalLength: Int { Self.size + Int(compressedLength) }

    /// Appends the header followed by `compressed`, with the CRC over both (from byte 8 on).
    func write(payload compressed: [UInt8], into out: inout ByteWriter) {
        let start = out.count
        out.u32(Self.magic)
        out.u32(0)  // CRC, patched below
        out.u32(compressedLength)
        out.u32(uncompressedLength)
        out.u64(firstSeq)
        out.u32(count)
        out.u16(flags)
        out.u16(0)
        out.i64(minTime)
        out.i64(maxTime)
        out.bytes.append(contentsOf: compressed)
        let crc = CRC32C.checksum(out.bytes, range: (start + 8)..<out.count)
        out.patchU32(crc, at: start + 4)
    }

    /// Why bytes at some offset are not a frame.
    enum Invalid: Error, Equatable {
        /// Fewer bytes than a header, or than the length it claims: the tail of an interrupted write.
        case short
        /// Not a frame header at all.
        case badMagic
        /// Impossible lengths or counts.
        case badHeader
        /// The bytes changed after they were written.
        case checksum
    }

    /// Reads and validates the frame at `offset` of `bytes` (whose first byte is at file offset `base`).
    static func read(_ bytes: [UInt8], at offset: Int) -> Result<FrameHeader, Invalid> {
        guard bytes.count - offset >= size else { return .failure(.short) }
        var r = ByteReader(bytes, from: offset)
        do {
            guard try r.u32() == magic else { return .failure(.badMagic) }
            let crc = try r.u32()
            let header = FrameHeader(
                compressedLength: try r.u32(), uncompressedLength: try r.u32(), firstSeq: try r.u64(),
                count: try r.u32(),
                flags: try {
                    let f = try r.u16()
                    _ = try r.u16()
                    return f
                }(),
                minTime: try r.i64(), maxTime: try r.i64())
            guard header.count > 0, header.uncompressedLength <= maxUncompressed,
                header.uncompressedLength >= header.count, header.minTime <= header.maxTime,
                header.firstSeq > 0, header.firstSeq <= UInt64.max - UInt64(header.count)  // endSeq fits
            else { return .failure(.badHeader) }
            guard bytes.count - offset - size >= Int(header.compressedLength) else { return .failure(.short) }
            let actual = CRC32C.checksum(bytes, range: (offset + 8)..<(offset + header.totalLength))
            guard actual == crc else { return .failure(.checksum) }
            return .success(header)
        } catch {
            return .failure(.short)
        }
    }
}
