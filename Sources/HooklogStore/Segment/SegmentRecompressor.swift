#if canImport(Glibc)
import Glibc
#endif

/// Rewrites a sealed segment with LZ4HC, in the background, once nothing will be appended to it again.
///
/// The hot path compresses with fast LZ4 in chained frames; a sealed segment is read many times and
/// never written, so it is worth compressing harder once: measured on the benchmark corpus with 64 KB
/// independent blocks, LZ4HC level 4 stores 28 % fewer bytes than fast LZ4, at ~40 MB/s, and decodes as
/// fast. Records and seqs stay as they were (so every posting stays valid); only the frames change: one
/// frame per block. The new log is written beside the old one, synced and renamed over it; the caller
/// then writes the matching index. A crash in between leaves a log whose index has the wrong length,
/// which is rebuilt on open.
enum SegmentRecompressor {
    static let suffix = ".recompress"

    /// Recompresses the segment at `path` described by `index`; returns the index of the new file and its
    /// length, or nil when the segment is left as it is (it has damage, or HC would not save space).
    static func recompress(
        path: String, index: MemoryIndex, blockSize: Int, level: Int32
    ) throws(StoreError) -> (MemoryIndex, UInt64)? {
        guard index.damage.isEmpty, !index.frames.isEmpty else { return nil }
        let old = try RawFile(path: path, flags: O_RDONLY)
        let oldLength = index.frames.last!.end
        let header = try old.read(at: 0, count: FileHeader.size)
        var out = ByteWriter(capacity: Int(oldLength))
        out.bytes.append(contentsOf: header)
        var frames: [FrameInfo] = []
        var records = ByteWriter(capacity: blockSize + 4096)
        var first: UInt64 = 0
        var count: UInt32 = 0
        var minTime = Int64.max
        var maxTime = Int64.min

        func flush() {
            guard count > 0 else { return }
            let compressed = BlockDecoder.compressHC(records.bytes, level: level)
            let h = FrameHeader(
                compressedLength: UInt32(compressed.count), uncompressedLength: UInt32(records.count), firstSeq: first,
                count: count, flags: FrameHeader.flagStartsBlock, minTime: minTime, maxTime: maxTime)
            let offset = UInt64(out.count)
            h.write(payload: compressed, into: &out)
            frames.append(FrameInfo(offset: offset, blockStart: offset, header: h))
            records = ByteWriter(capacity: blockSize + 4096)
            count = 0
            minTime = .max
            maxTime = .min
        }

        var i = 0
        while i < index.frames.count {
            var last = i
            while last + 1 < index.frames.count && !index.frames[last + 1].header.startsBlock { last += 1 }
            let decoded = try BlockReader.decode(file: old, frames: index.frames, first: i, last: last)
            if decoded.damage != nil { return nil }
            for (frame, begin) in decoded.frames {
                var r = ByteReader(decoded.bytes, from: begin, to: begin + Int(frame.header.uncompressedLength))
                for k in 0..<UInt64(frame.header.count) {
                    let p = r.offset
                    // A record is `varint bodyLength`, then the body, which starts with its i64 time.
                    guard let length = try? r.varint(), let time = try? r.i64(), (try? r.skip(Int(length) - 8)) != nil else {
                        return nil
                    }
                    if count > 0 && records.count + (r.offset - p) > blockSize { flush() }
                    if count == 0 { first = frame.firstSeq + k }
                    minTime = min(minTime, time)
                    maxTime = max(maxTime, time)
                    records.bytes.append(contentsOf: decoded.bytes[p..<r.offset])
                    count += 1
                }
            }
            i = last + 1
        }
        flush()
        guard UInt64(out.count) < oldLength else { return nil }
        let temporary = path + suffix
        do {
            let file = try RawFile(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
            try file.write(out.bytes, at: 0)
            try file.syncData()
            try FileSystem.rename(temporary, path)
        } catch {
            try? FileSystem.remove(temporary)
            throw error
        }
        var rewritten = index
        rewritten.frames = frames
        return (rewritten, UInt64(out.count))
    }
}
