#if canImport(Glibc)
import Glibc
#endif

/// The writer's note of how far the log is committed (`log/COMMITTED`, 32 bytes): the active segment's
/// base seq, the file offset up to which its frames are durable, and the next seq.
///
/// Written after every `fdatasync` and before the appenders are answered, so a reader in another process
/// that honours it sees exactly the acknowledged events, never a frame that is written but not yet durable
/// (which a failed sync could still take back). It is not synced itself: it only matters while the writer
/// lives (readers ask the lock), and recovery rewrites it.
struct CommitMark: Equatable, Sendable {
    static let size = 32
    static let magic: UInt32 = 0x314D_4C48  // "HLM1"

    var segmentBase: UInt64
    var offset: UInt64
    var nextSeq: UInt64

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.u32(Self.magic)
        w.u32(0)
        w.u64(segmentBase)
        w.u64(offset)
        w.u64(nextSeq)
        w.patchU32(CRC32C.checksum(w.bytes[8...]), at: 4)
        return w.bytes
    }

    static func decode(_ b: [UInt8]) -> CommitMark? {
        guard b.count == size, b.loadU32(at: 0) == magic, b.loadU32(at: 4) == CRC32C.checksum(b[8...]) else {
            return nil
        }
        return CommitMark(segmentBase: b.loadU64(at: 8), offset: b.loadU64(at: 16), nextSeq: b.loadU64(at: 24))
    }

    /// Reads the mark of a log directory; nil when absent or torn (a reader then retries or scans).
    static func read(logDirectory: String) -> CommitMark? {
        guard let file = try? RawFile(path: logDirectory + "/COMMITTED", flags: O_RDONLY) else { return nil }
        for _ in 0..<3 {
            if let bytes = try? file.read(at: 0, count: size), let mark = decode(bytes) { return mark }
        }
        return nil
    }
}
