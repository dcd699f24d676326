/// Writes little-endian values into memory sized beforehand: the encoder of a sealed segment's index
/// file, which knows the file's exact length before it writes a byte.
///
/// Hand-written because `ByteWriter` (an array that grows) cost that encoder most of its time: an 18 MB
/// index grew through six reallocations, each copy touching fresh pages, and was then copied twice more
/// to put the header and page table in front (perf: page faults, `memmove` and `memset` were half of
/// the seal thread's CPU). Every store is bounds-checked: a wrong size computed by the caller traps
/// instead of writing past the buffer.
struct SizedByteWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    /// Where the next value goes.
    private(set) var offset: Int

    /// A writer over `buffer`, from `offset` on.
    init(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

    @inline(__always)
    private mutating func reserve(_ n: Int) -> Int {
        precondition(n <= buffer.count - offset, "SizedByteWriter: past the end of the buffer")
        defer { offset += n }
        return offset
    }

    @inline(__always)
    mutating func u8(_ v: UInt8) { buffer[reserve(1)] = v }

    @inline(__always)
    mutating func u32(_ v: UInt32) { buffer.storeBytes(of: v.littleEndian, toByteOffset: reserve(4), as: UInt32.self) }

    @inline(__always)
    mutating func u64(_ v: UInt64) { buffer.storeBytes(of: v.littleEndian, toByteOffset: reserve(8), as: UInt64.self) }

    @inline(__always)
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    /// LEB128, as `ByteWriter.varint`; `varintLength(_:)` bytes.
    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            u8(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        u8(UInt8(v))
    }

    /// The bytes `varint(value)` writes.
    @inline(__always)
    static func varintLength(_ value: UInt64) -> Int {
        // 7 bits a byte; a zero takes one.
        (64 - value.leadingZeroBitCount + 6) / 7 + (value == 0 ? 1 : 0)
    }

    mutating func bytes(_ b: UnsafeRawBufferPointer) {
        guard b.count > 0 else { return }
        let at = reserve(b.count)
        UnsafeMutableRawBufferPointer(rebasing: buffer[at..<(at + b.count)]).copyMemory(from: b)
    }

    mutating func zeros(_ n: Int) {
        let at = reserve(n)
        UnsafeMutableRawBufferPointer(rebasing: buffer[at..<(at + n)]).initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// Moves the writer to `offset` (inside the buffer): for sections written side by side.
    mutating func seek(to offset: Int) {
        precondition(offset >= 0 && offset <= buffer.count, "SizedByteWriter: seek out of the buffer")
        self.offset = offset
    }
}
