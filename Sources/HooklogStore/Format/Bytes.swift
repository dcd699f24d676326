import CCRC32C

/// Appends little-endian integers, LEB128 varints and length-prefixed strings to a byte array.
struct ByteWriter {
    var bytes: [UInt8]

    init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func blob<C: Collection>(_ b: C) where C.Element == UInt8 {
        varint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { blob($0) }
    }

    mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }

    /// Overwrites 4 bytes at `offset` (for a checksum or a length known only at the end).
    mutating func patchU32(_ v: UInt32, at offset: Int) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: v >> UInt32(i * 8)) }
    }
}

/// Reads what `ByteWriter` wrote, bounds-checked: a short or malformed input throws, never traps.
struct ByteReader {
    let bytes: [UInt8]
    var offset: Int
    let end: Int

    init(_ bytes: [UInt8], from offset: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
    }

    struct Overrun: Error {}

    var remaining: Int { end - offset }

    mutating func u8() throws(Overrun) -> UInt8 {
        guard offset < end else { throw Overrun() }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(Overrun) -> UInt16 {
        guard end - offset >= 2 else { throw Overrun() }
        defer { offset += 2 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    mutating func u32() throws(Overrun) -> UInt32 {
        guard end - offset >= 4 else { throw Overrun() }
        defer { offset += 4 }
        return bytes.loadU32(at: offset)
    }

    mutating func u64() throws(Overrun) -> UInt64 {
        guard end - offset >= 8 else { throw Overrun() }
        defer { offset += 8 }
        return bytes.loadU64(at: offset)
    }

    mutating func i64() throws(Overrun) -> Int64 { Int64(bitPattern: try u64()) }

    mutating func varint() throws(Overrun) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end, shift < 64 else { throw Overrun() }
            let b = bytes[offset]
            offset += 1
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    /// Reads a varint length and returns the range of that many bytes, advancing past them.
    mutating func blobRange() throws(Overrun) -> Range<Int> {
        let n = try varint()
        guard n <= UInt64(end - offset) else { throw Overrun() }
        let start = offset
        offset += Int(n)
        return start..<offset
    }

    mutating func blob() throws(Overrun) -> [UInt8] { Array(bytes[try blobRange()]) }

    mutating func string() throws(Overrun) -> String {
        String(decoding: bytes[try blobRange()], as: UTF8.self)
    }

    mutating func skip(_ n: Int) throws(Overrun) {
        guard n >= 0, n <= end - offset else { throw Overrun() }
        offset += n
    }
}

extension Array where Element == UInt8 {
    /// Little-endian load; the caller has checked the bounds.
    @inline(__always)
    func loadU32(at i: Int) -> UInt32 {
        UInt32(self[i]) | UInt32(self[i + 1]) << 8 | UInt32(self[i + 2]) << 16 | UInt32(self[i + 3]) << 24
    }

    /// Little-endian load; the caller has checked the bounds.
    @inline(__always)
    func loadU64(at i: Int) -> UInt64 {
        UInt64(loadU32(at: i)) | UInt64(loadU32(at: i + 4)) << 32
    }
}

/// CRC32C (Castagnoli), hardware-accelerated where the CPU has it.
enum CRC32C {
    static func checksum<C: ContiguousCollection>(_ bytes: C, seed: UInt32 = 0) -> UInt32 where C.Element == UInt8 {
        bytes.withUnsafeBytes { hooklog_crc32c_extend(seed, $0.baseAddress, $0.count) }
    }

    static func checksum(_ bytes: [UInt8], range: Range<Int>, seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { raw in
            hooklog_crc32c_extend(seed, raw.baseAddress.map { $0 + range.lowerBound }, range.count)
        }
    }

}

/// Collections whose bytes can be handed to C in one piece.
protocol ContiguousCollection: Collection where Element == UInt8 {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}
extension Array: ContiguousCollection where Element == UInt8 {}
extension ArraySlice: ContiguousCollection where Element == UInt8 {}
