#if canImport(Glibc)
import Glibc
#endif

/// Rewrites a sealed segment with LZ4HC, in the background, once nothing will be appended to it again.
///
/// The hot path compresses with fast LZ4 in chained frames; a sealed segment is read many times and
/// never written, so it is worth compressing harder once: measured on the benchmark corpus with 64 KB
/// independent blocks, LZ4HC level 4 stores 28 % fewer bytes than fast LZ4, at ~40 MB/s, and decodes as
/// fast. Each block is also compressed against the segment's dictionary, a sample of its own records
/// (`SegmentDictionary`): 21 % fewer bytes again. Records and seqs stay as they were (so every posting
/// stays valid); only the frames change: one frame per block, and the file becomes format version 2.
/// The new log is written beside the old one, synced and renamed over it; the caller then writes the
/// matching index. A crash in between leaves a log whose index has the wrong length, which is rebuilt
/// on open.
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
        guard
            var header = try? FileHeader.decode(try old.read(at: 0, count: FileHeader.size), kind: .segment, path: path)
        else { return nil }

        // Pass 1: the dictionary, every k-th record (decoding fast LZ4 again for pass 2 costs far less
        // than holding the segment's records, several times its 64 MB, in memory).
        let uncompressed = index.frames.reduce(UInt64(0)) { $0 + UInt64($1.header.uncompressedLength) }
        let recordCount = Int(index.endSeq - index.baseSeq)
        let stride = SegmentDictionary.sampleStride(uncompressedBytes: uncompressed, recordCount: recordCount)
        var sample: [UInt8] = []
        var n = 0
        let sampled = try forEachRecord(old, index) { record, _, _ in
            if n % stride == 0 { sample.append(contentsOf: record) }
            n += 1
        }
        guard sampled else { return nil }
        // LZ4 reaches back 64 KB: the end of the sample is what the blocks see.
        let dictionary = Array(sample.suffix(SegmentDictionary.maxLength))
        guard !dictionary.isEmpty else { return nil }
        let compressor = HCDictionaryCompressor(dictionary: dictionary, level: level)

        // Pass 2: the records again, in blocks of `blockSize`, each compressed against the dictionary.
        let section = SegmentDictionary.section(dictionary)
        header.version = FileHeader.dictionarySegmentVersion
        header.extra = [UInt64(section.count), 0, 0]
        var out = ByteWriter(capacity: Int(oldLength))
        out.bytes.append(contentsOf: header.encoded())
        out.bytes.append(contentsOf: section)
        var frames: [FrameInfo] = []
        var records = ByteWriter(capacity: blockSize + 4096)
        var first: UInt64 = 0
        var count: UInt32 = 0
        var minTime = Int64.max
        var maxTime = Int64.min

        func flush() {
            guard count > 0 else { return }
            let compressed = compressor.compress(records.bytes)
            let h = FrameHeader(
                compressedLength: UInt32(compressed.count), uncompressedLength: UInt32(records.count), firstSeq: first,
                count: count, flags: FrameHeader.flagStartsBlock | FrameHeader.flagUsesDictionary, minTime: minTime,
                maxTime: maxTime)
            let offset = UInt64(out.count)
            h.write(payload: compressed, into: &out)
            frames.append(FrameInfo(offset: offset, blockStart: offset, header: h))
            records = ByteWriter(capacity: blockSize + 4096)
            count = 0
            minTime = .max
            maxTime = .min
        }

        let copied = try forEachRecord(old, index) { record, seq, time in
            if count > 0 && records.count + record.count > blockSize { flush() }
            if count == 0 { first = seq }
            minTime = min(minTime, time)
            maxTime = max(maxTime, time)
            records.bytes.append(contentsOf: record)
            count += 1
        }
        guard copied else { return nil }
        flush()
        guard UInt64(out.count) < oldLength else { return nil }
        let temporary = path + suffix
        do {
            let file = try RawFile(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
            try file.writeBackInPieces(out.bytes)
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

    /// Calls `body` with each record of the segment (its bytes, seq and receipt time), in seq order;
    /// false if a block does not decode or a record does not parse.
    private static func forEachRecord(
        _ file: RawFile, _ index: MemoryIndex, _ body: (ArraySlice<UInt8>, UInt64, Int64) -> Void
    ) throws(StoreError) -> Bool {
        var i = 0
        while i < index.frames.count {
            var last = i
            while last + 1 < index.frames.count && !index.frames[last + 1].header.startsBlock { last += 1 }
            let decoded = try BlockReader.decode(file: file, frames: index.frames, first: i, last: last)
            if decoded.damage != nil { return false }
            for (frame, begin) in decoded.frames {
                var r = ByteReader(decoded.bytes, from: begin, to: begin + Int(frame.header.uncompressedLength))
                for k in 0..<UInt64(frame.header.count) {
                    let p = r.offset
                    // A record is `varint bodyLength`, then the body, which starts with its i64 time.
                    guard let length = try? r.varint(), let bodyLength = Int(exactly: length), bodyLength >= 8,
                        let time = try? r.i64(), (try? r.skip(bodyLength - 8)) != nil
                    else {
                        return false
                    }
                    body(decoded.bytes[p..<r.offset], frame.firstSeq + k, time)
                }
            }
            i = last + 1
        }
        return true
    }
}
