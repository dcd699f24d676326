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
    /// - Throws: `Failure` if the bytes are not a valid LZ4 frame of exactly that length.
    static func decodeFrame(
        _ source: [UInt8], range: Range<Int>, uncompressedLength: Int, appendingTo block: inout [UInt8]
    ) throws(Failure) {
        let prefix = block.count
        block.append(contentsOf: repeatElement(0, count: uncompressedLength))
        let n: Int32 = source.withUnsafeBytes { src in
            block.withUnsafeMutableBytes { dst in
                let out = dst.baseAddress! + prefix
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
    static func decodeRun(_ source: [UInt8], frames: [(offset: Int, compressed: Int, length: Int)]) throws(Failure) -> [UInt8] {
        let total = frames.reduce(0) { $0 + $1.length }
        var ok = true
        let out = [UInt8](unsafeUninitializedCapacity: total) { dst, initialized in
            source.withUnsafeBytes { src in
                var position = 0
                for frame in frames {
                    let out = UnsafeMutableRawPointer(dst.baseAddress!) + position
                    let dictSize = min(position, 64 << 10)
                    let n = LZ4_decompress_safe_usingDict(
                        (src.baseAddress! + frame.offset).assumingMemoryBound(to: CChar.self),
                        out.assumingMemoryBound(to: CChar.self), Int32(frame.compressed), Int32(frame.length),
                        (out - dictSize).assumingMemoryBound(to: CChar.self), Int32(dictSize))
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
