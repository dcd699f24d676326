import CLZ4Bench

/// Raw liblz4, the ceiling the store's compression and decompression are measured against.
public enum LZ4Reference {
    /// Compresses `input` with `LZ4_compress_default` into `output` (resized to the bound); returns the
    /// compressed length.
    @discardableResult
    public static func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Int {
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        return output.withUnsafeMutableBytes { out in
            Int(
                LZ4_compress_default(
                    input.baseAddress!.assumingMemoryBound(to: CChar.self),
                    out.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(input.count), Int32(out.count)))
        }
    }

    /// One compressed chunk and its original size.
    public struct Chunk: Sendable {
        public var compressed: [UInt8]
        public var originalSize: Int
    }

    /// Concatenates payloads into chunks of about `chunkSize` bytes (a payload never split) and
    /// compresses each.
    public static func chunks<S: Sequence>(of payloads: S, chunkSize: Int) -> [Chunk] where S.Element == [UInt8] {
        var out: [Chunk] = []
        var buffer: [UInt8] = []
        buffer.reserveCapacity(chunkSize + 4096)
        var scratch: [UInt8] = []
        func flush() {
            guard !buffer.isEmpty else { return }
            let n = buffer.withUnsafeBytes { compress($0, into: &scratch) }
            out.append(Chunk(compressed: Array(scratch[0..<n]), originalSize: buffer.count))
            buffer.removeAll(keepingCapacity: true)
        }
        for p in payloads {
            if !buffer.isEmpty && buffer.count + p.count > chunkSize { flush() }
            buffer.append(contentsOf: p)
        }
        flush()
        return out
    }

    /// Decompresses every chunk with `LZ4_decompress_safe` into one reused buffer; returns the bytes
    /// produced (and traps if a chunk does not decode to its original size).
    public static func decompressAll(_ chunks: [Chunk], buffer: inout [UInt8]) -> Int {
        var total = 0
        let maxSize = chunks.map(\.originalSize).max() ?? 0
        if buffer.count < maxSize { buffer = [UInt8](repeating: 0, count: maxSize) }
        buffer.withUnsafeMutableBytes { out in
            for c in chunks {
                let n = c.compressed.withUnsafeBytes { src in
                    LZ4_decompress_safe(
                        src.baseAddress!.assumingMemoryBound(to: CChar.self),
                        out.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(src.count), Int32(out.count))
                }
                precondition(Int(n) == c.originalSize, "LZ4_decompress_safe failed")
                total += Int(n)
            }
        }
        return total
    }
}
