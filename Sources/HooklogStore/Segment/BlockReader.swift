/// Reads and decodes blocks of a segment on demand: the frames from a block's start up to the frame a
/// reader needs, read in one `pread`, each checked against its CRC again (the file may have changed since
/// it was indexed), decompressed in order.
enum BlockReader {
    /// A decoded run of frames: `bytes` holds their records back to back.
    struct Decoded {
        var bytes: [UInt8]
        /// Each frame with the offset of its first record in `bytes`.
        var frames: [(frame: FrameInfo, start: Int)]
        /// Set when a frame of the run failed its check: `frames` then holds the ones before it, which
        /// decode on their own (a frame needs only the frames before it as history).
        var damage: StoreError?
    }

    /// Decodes the frames `frames[first...last]`, where `first` starts the block.
    static func decode(
        file: RawFile, frames: [FrameInfo], first: Int, last: Int
    ) throws(StoreError) -> Decoded {
        let start = frames[first].offset
        let end = frames[last].end
        let raw = try file.read(at: start, count: Int(end - start))
        var out = Decoded(bytes: [], frames: [], damage: nil)
        var runs: [(offset: Int, compressed: Int, length: Int)] = []
        var position = 0
        for i in first...last {
            let f = frames[i]
            let local = Int(f.offset - start)
            guard case .success(let header) = FrameHeader.read(raw, at: local), header == f.header else {
                let lost = frames[i...last].last { $0.blockStart == f.blockStart }!.endSeq - 1
                out.damage = StoreError(
                    .corrupt,
                    "\(file.path) at offset \(f.offset): frame checksum mismatch, events \(f.firstSeq)...\(lost) unreadable; run `hooklog check`",
                    path: file.path)
                break
            }
            runs.append(
                (local + FrameHeader.size, f.header.totalLength - FrameHeader.size, Int(f.header.uncompressedLength)))
            out.frames.append((f, position))
            position += Int(f.header.uncompressedLength)
        }
        // A recompressed segment's blocks are compressed against its dictionary.
        var dictionary: [UInt8]?
        if frames[first].header.usesDictionary && !runs.isEmpty {
            let layout = try SegmentDictionary.cachedLayout(file: file)
            guard let d = layout.dictionary else {
                throw StoreError(
                    .corrupt,
                    "\(file.path) at offset \(frames[first].offset): block unreadable, \(layout.problem ?? "the segment has no dictionary"); run `hooklog check`",
                    path: file.path)
            }
            dictionary = d
        }
        do {
            if !runs.isEmpty { out.bytes = try BlockDecoder.decodeRun(raw, frames: runs, dictionary: dictionary) }
        } catch {
            throw StoreError(
                .corrupt, "\(file.path) at offset \(frames[first].offset): block does not decompress", path: file.path)
        }
        return out
    }

    /// The index of the frame that starts the block holding `frames[i]`.
    static func blockFirst(_ frames: [FrameInfo], _ i: Int) -> Int {
        var j = i
        while j > 0 && !frames[j].header.startsBlock { j -= 1 }
        return j
    }

    /// Calls `body` with the layout of each record of a decoded run whose seq `wants` accepts; the others
    /// are skipped by their length alone, unparsed.
    static func forEachRecord(
        _ decoded: Decoded, wants: (UInt64) -> Bool = { _ in true },
        _ body: (UInt64, RecordCodec.Layout) throws -> Bool
    ) throws -> Bool {
        for (frame, start) in decoded.frames {
            var p = start
            let end = start + Int(frame.header.uncompressedLength)
            for i in 0..<UInt64(frame.header.count) {
                let seq = frame.firstSeq + i
                do {
                    if !wants(seq) {
                        p = try RecordCodec.skip(decoded.bytes, at: p, end: end)
                        continue
                    }
                    let l = try RecordCodec.layout(decoded.bytes, at: p, end: end)
                    if try !body(seq, l) { return false }
                    p = l.next
                } catch is ByteReader.Overrun {
                    throw StoreError(.corrupt, "frame at offset \(frame.offset): malformed record")
                }
            }
        }
        return true
    }

    /// The event at `seq` of a segment, or nil if the index has no frame for it.
    static func event(seq: UInt64, file: RawFile, frames: [FrameInfo], index: some SegmentIndex) throws -> StoredEvent?
    {
        guard let fi = index.frameIndex(containing: seq) else { return nil }
        let decoded = try decode(file: file, frames: frames, first: blockFirst(frames, fi), last: fi)
        if let damage = decoded.damage, decoded.frames.last.map({ $0.frame.endSeq <= seq }) ?? true { throw damage }
        var found: StoredEvent?
        _ = try forEachRecord(decoded, wants: { $0 == seq }) { s, l in
            found = RecordCodec.event(decoded.bytes, l, seq: s)
            return false
        }
        return found
    }
}
