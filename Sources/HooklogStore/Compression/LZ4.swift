import CLZ4

// All of the store's pointer code for compression lives in this file. Pointers never escape the calls
// below; `BlockCompressor` owns its two C allocations and frees them in `deinit`.

/// Compresses a block's frames as one LZ4 stream, so that each small group commit is compressed against
/// up to 64 KB of the events before it (`LZ4_compress_fast_continue`), not on its own: a 1-event commit
/// then costs about what it would inside a big batch.
///
/// The uncompressed bytes of the current block are kept contiguous in `buffer`, which is what lets LZ4
/// use them as history without copying. Not thread-safe: the writer thread owns it.
final class BlockCompressor {
    private let stream: UnsafeMutablePointer<LZ4_stream_t>
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    /// Bytes of the current block held in `buffer`.
    private(set) var used = 0
    /// The block size the writer aims for; a single larger commit gets a block of its own size.
    let blockSize: Int

    init(blockSize: Int) {
        self.blockSize = blockSize
        stream = LZ4_createStream()!
        capacity = blockSize
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        LZ4_freeStream(stream)
        buffer.deallocate()
    }

    /// Whether `count` more bytes fit in the current block.
    func fits(_ count: Int) -> Bool { used > 0 && used + count <= blockSize }

    /// Starts a new block: the next frame decodes without any history.
    func startBlock(minimumCapacity: Int) {
        LZ4_resetStream_fast(stream)
        used = 0
        if minimumCapacity > capacity {
            buffer.deallocate()
            capacity = minimumCapacity
            buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        }
    }

    /// Compresses `input` as the next frame of the current block. The caller made room with
    /// `fits`/`startBlock`.
    func compressFrame(_ input: [UInt8]) -> [UInt8] {
        precondition(used + input.count <= capacity, "frame does not fit its block")
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        let source = buffer + used
        input.withUnsafeBytes { source.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        let output = [UInt8](unsafeUninitializedCapacity: bound) { out, initialized in
            let n = LZ4_compress_fast_continue(
                stream, source.assumingMemoryBound(to: CChar.self),
                UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: CChar.self),
                Int32(input.count), Int32(bound), 1)
            initialized = Int(n)
        }
        precondition(output.count > 0 || input.isEmpty, "LZ4_compress_fast_continue failed")
        used += input.count
        return output
    }
}

/// Compresses independent blocks with LZ4HC, each against one shared dictionary (a sample of the
/// segment's own records, see `SegmentDictionary`): a 64 KB block compressed alone starts with no
/// history, and its first kilobytes compress poorly; with the dictionary as history every block starts
/// warm. Measured on the benchmark corpus, level 4, 64 KB blocks: 21 % fewer bytes than without.
///
/// The dictionary is loaded once into `prepared`; each block starts from a byte copy of that state (the
/// alternative lz4hc.h names to reloading the dictionary every block; `LZ4_attach_HC_dictionary` is not
/// in the shared library). The copy's pointers refer to `dictionary`'s bytes, which this object keeps
/// alive and unmoved. Not thread-safe: the recompression thread owns it.
final class HCDictionaryCompressor {
    private let prepared: UnsafeMutablePointer<LZ4_streamHC_t>
    private let working: UnsafeMutablePointer<LZ4_streamHC_t>
    /// The dictionary's bytes, at a fixed address for as long as `prepared` refers to them.
    private let dictionary: UnsafeMutableRawBufferPointer

    /// - Parameters:
    ///   - dictionary: at most its last 64 KB are used (LZ4's window).
    ///   - level: the LZ4HC level.
    init(dictionary: [UInt8], level: Int32) {
        let used = dictionary.suffix(64 << 10)
        self.dictionary = UnsafeMutableRawBufferPointer.allocate(byteCount: max(used.count, 1), alignment: 16)
        _ = self.dictionary.initializeMemory(as: UInt8.self, from: used)
        prepared = LZ4_createStreamHC()!
        working = LZ4_createStreamHC()!
        LZ4_resetStreamHC_fast(prepared, level)
        LZ4_loadDictHC(prepared, self.dictionary.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(used.count))
    }

    deinit {
        LZ4_freeStreamHC(prepared)
        LZ4_freeStreamHC(working)
        dictionary.deallocate()
    }

    /// One block, decodable with `BlockDecoder.decodeRun(_:frames:dictionary:)` given the same dictionary.
    func compress(_ input: [UInt8]) -> [UInt8] {
        UnsafeMutableRawPointer(working).copyMemory(from: prepared, byteCount: Int(LZ4_sizeofStateHC()))
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        let output = [UInt8](unsafeUninitializedCapacity: bound) { out, initialized in
            initialized = input.withUnsafeBytes { src in
                Int(
                    LZ4_compress_HC_continue(
                        working, src.baseAddress?.assumingMemoryBound(to: CChar.self),
                        UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: CChar.self),
                        Int32(input.count), Int32(bound)))
            }
        }
        precondition(output.count > 0 || input.isEmpty, "LZ4_compress_HC_continue failed")
        return output
    }
}

/// Decompresses frames; stateless.
enum BlockDecoder {
    struct Failure: Error {}

    /// Decompresses one frame onto the end of `block`, using the block's bytes so far as LZ4 history.
    ///
    /// - Parameters:
    ///   - source: the file bytes holding the compressed frame.
    ///   - range: where the compressed frame lies in `source`.
    ///   - uncompressedLength: the length the frame header promises.
    ///   - block: the block decoded so far (empty for a frame that starts a block).
    ///   - dictionary: for a frame compressed against its segment's dictionary (it then starts its block,
    ///     and `block` is empty): that dictionary.
    /// - Throws: `Failure` if the bytes are not a valid LZ4 frame of exactly that length.
    static func decodeFrame(
        _ source: [UInt8], range: Range<Int>, uncompressedLength: Int, appendingTo block: inout [UInt8],
        dictionary: [UInt8]? = nil
    ) throws(Failure) {
        if dictionary != nil && !block.isEmpty { throw Failure() }
        let prefix = block.count
        block.append(contentsOf: repeatElement(0, count: uncompressedLength))
        let n: Int32 = source.withUnsafeBytes { src in
            block.withUnsafeMutableBytes { dst in
                let out = dst.baseAddress! + prefix
                if let dictionary {
                    return decode(
                        src.baseAddress! + range.lowerBound, compressed: range.count, into: out,
                        length: uncompressedLength,
                        dictionary: dictionary)
                }
                let dictSize = min(prefix, 64 << 10)
                return LZ4_decompress_safe_usingDict(
                    (src.baseAddress! + range.lowerBound).assumingMemoryBound(to: CChar.self),
                    out.assumingMemoryBound(to: CChar.self), Int32(range.count), Int32(uncompressedLength),
                    (out - dictSize).assumingMemoryBound(to: CChar.self), Int32(dictSize))
            }
        }
        guard n == Int32(uncompressedLength) else {
            block.removeLast(uncompressedLength)
            throw Failure()
        }
    }

    /// Decompresses consecutive frames of one block into one new buffer, each frame using the ones
    /// before it as history. The buffer is allocated once and never zero-filled: LZ4 writes every byte,
    /// and a short frame is an error, not a gap.
    ///
    /// Each frame is given as plain `Int`s, not a `Range<Int>`: an array of a type holding a `Range` made
    /// the run-time check `Int: Comparable` by scanning every conformance record (0.1 ms of a cold query).
    ///
    /// - Parameter frames: where each compressed frame starts in `source`, its compressed length, and its
    ///   uncompressed length.
    ///   - dictionary: for a run of one frame compressed against its segment's dictionary
    ///     (`FrameHeader.flagUsesDictionary`): that dictionary, used as the frame's history.
    static func decodeRun(
        _ source: [UInt8], frames: [(offset: Int, compressed: Int, length: Int)], dictionary: [UInt8]? = nil
    ) throws(Failure) -> [UInt8] {
        let total = frames.reduce(0) { $0 + $1.length }
        // A dictionary block holds one frame (see `FrameHeader.flagUsesDictionary`).
        if dictionary != nil && frames.count != 1 { throw Failure() }
        var ok = true
        let out = [UInt8](unsafeUninitializedCapacity: total) { dst, initialized in
            source.withUnsafeBytes { src in
                var position = 0
                for frame in frames {
                    let out = UnsafeMutableRawPointer(dst.baseAddress!) + position
                    let n: Int32
                    if let dictionary {
                        n = decode(
                            src.baseAddress! + frame.offset, compressed: frame.compressed, into: out,
                            length: frame.length,
                            dictionary: dictionary)
                    } else {
                        let dictSize = min(position, 64 << 10)
                        n = LZ4_decompress_safe_usingDict(
                            (src.baseAddress! + frame.offset).assumingMemoryBound(to: CChar.self),
                            out.assumingMemoryBound(to: CChar.self), Int32(frame.compressed), Int32(frame.length),
                            (out - dictSize).assumingMemoryBound(to: CChar.self), Int32(dictSize))
                    }
                    guard n == Int32(frame.length) else {
                        ok = false
                        break
                    }
                    position += frame.length
                }
                initialized = ok ? total : 0
            }
        }
        guard ok else { throw Failure() }
        return out
    }

    /// Decodes one frame compressed against `dictionary` into `length` bytes at `out`; LZ4's result
    /// (`length` on success).
    ///
    /// The dictionary is copied in front of the output in a staging buffer: LZ4 then decodes with it as a
    /// contiguous prefix, its fast path, rather than as an external dictionary, which checks every match
    /// for crossing into it (measured: a full scan 18 % slower that way).
    private static func decode(
        _ source: UnsafeRawPointer, compressed: Int, into out: UnsafeMutableRawPointer, length: Int, dictionary: [UInt8]
    ) -> Int32 {
        dictionary.withUnsafeBytes { dict in
            let dictSize = min(dict.count, 64 << 10)
            let staging = UnsafeMutableRawPointer.allocate(byteCount: dictSize + length, alignment: 16)
            defer { staging.deallocate() }
            if dictSize > 0 { staging.copyMemory(from: dict.baseAddress! + dict.count - dictSize, byteCount: dictSize) }
            let n = LZ4_decompress_safe_usingDict(
                source.assumingMemoryBound(to: CChar.self), (staging + dictSize).assumingMemoryBound(to: CChar.self),
                Int32(compressed), Int32(length), staging.assumingMemoryBound(to: CChar.self), Int32(dictSize))
            if n == Int32(length) { out.copyMemory(from: staging + dictSize, byteCount: length) }
            return n
        }
    }

    /// One independent block with LZ4HC (used when sealed segments are recompressed in the background;
    /// the output is ordinary LZ4, decoded as fast as the rest).
    static func compressHC(_ input: [UInt8], level: Int32) -> [UInt8] {
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        return [UInt8](unsafeUninitializedCapacity: bound) { out, initialized in
            initialized = input.withUnsafeBytes { src in
                Int(
                    LZ4_compress_HC(
                        src.baseAddress?.assumingMemoryBound(to: CChar.self),
                        UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: CChar.self),
                        Int32(input.count), Int32(bound), level))
            }
        }
    }

    /// Raw `LZ4_compress_default`, for references and tests.
    static func compressDefault(_ input: [UInt8]) -> [UInt8] {
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        return [UInt8](unsafeUninitializedCapacity: bound) { out, initialized in
            initialized = input.withUnsafeBytes { src in
                Int(
                    LZ4_compress_default(
                        src.baseAddress?.assumingMemoryBound(to: CChar.self),
                        UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: CChar.self),
                        Int32(input.count), Int32(bound)))
            }
        }
    }
}
