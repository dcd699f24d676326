import CCRC32C
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The per-page CRC32Cs of a version 2 index file's body, checked the first time a page is read.
///
/// A version 1 index had one checksum over its whole body, so opening one read every byte: at 10 M
/// events (35 segments, 7.4 MB of index each) a cold `query --entity` spent 70 % of its time reading and
/// checksumming 260 MB of indexes to look up one key in each. With a checksum per 4 KB page, opening
/// verifies the pages it reads then (directory, frame table, names) and a lookup the few key-table and
/// posting pages it touches. A page that was verified stays verified (the file never changes: see
/// `MappedFile`), so warm lookups pay one bit test a page.
final class PageChecksums: Sendable {
    /// Bytes a checksum covers (the last page may be shorter).
    static let pageSize = 4096

    private let file: MappedFile
    /// Where the body starts in the file, and its length.
    let bodyStart: Int
    let bodyLength: Int
    private let crcs: [UInt32]
    /// One bit a page: set once the page matched its checksum.
    private let verified: Mutex<[UInt64]>

    /// The number of pages of a body of `length` bytes.
    static func pageCount(_ length: Int) -> Int { (length + pageSize - 1) / pageSize }

    /// The CRC32C of each page of `body`.
    static func checksums(of body: [UInt8]) -> [UInt32] {
        stride(from: 0, to: body.count, by: pageSize).map { start in
            CRC32C.checksum(body, range: start..<min(body.count, start + pageSize))
        }
    }

    init(file: MappedFile, bodyStart: Int, checksums: [UInt32]) {
        self.file = file
        self.bodyStart = bodyStart
        bodyLength = file.count - bodyStart
        crcs = checksums
        verified = Mutex([UInt64](repeating: 0, count: (checksums.count + 63) / 64))
    }

    /// Whether every page overlapping `range` (file offsets inside the body) holds its checksum.
    func verify(_ range: Range<Int>) -> Bool {
        guard !range.isEmpty else { return true }
        guard range.lowerBound >= bodyStart, range.upperBound <= file.count else { return false }
        let first = (range.lowerBound - bodyStart) / Self.pageSize
        let last = (range.upperBound - 1 - bodyStart) / Self.pageSize
        let unverified = (first...last).filter { !isVerified($0) }
        guard !unverified.isEmpty else { return true }
        var reader: PageReader? = nil  // opened only for a page the cache does not hold
        return unverified.allSatisfy { page in
            let start = bodyStart + page * Self.pageSize
            let length = min(Self.pageSize, file.count - start)
            if file.isResident(start..<(start + length)) { return check(page, crc: file.checksum(start, length)) }
            if reader == nil { reader = PageReader(path: file.path) }
            return check(page, crc: reader?.checksum(at: start, length: length))
        }
    }

    /// Checks every page (for `check`, which must find damage wherever it is); the first bad page, or nil.
    func firstBadPage() -> Int? {
        guard let reader = PageReader(path: file.path) else { return 0 }
        return (0..<crcs.count).first { page in
            let start = bodyStart + page * Self.pageSize
            return !check(page, crc: reader.checksum(at: start, length: min(Self.pageSize, file.count - start)))
        }
    }

    /// Reads pages with `pread`, not through the map, when the page cache does not hold them: a disk that
    /// fails to read a page then gives an error (the page counts as damaged, and the index is rebuilt
    /// from its log) where a first touch of the mapped page would raise SIGBUS and kill the process. A
    /// page read so is in the page cache when the map is read next, so that read needs no I/O. Pages the
    /// cache holds are read through the map: no descriptor to open, and nothing there can fail.
    private final class PageReader {
        let fd: Int32
        var buffer = [UInt8](repeating: 0, count: PageChecksums.pageSize)

        init?(path: String) {
            fd = Syscalls.open(path, O_RDONLY | O_CLOEXEC, 0)
            if fd < 0 { return nil }
        }

        deinit { _ = Syscalls.close(fd) }

        /// The CRC32C of `length` bytes at `offset`, or nil when they cannot all be read.
        func checksum(at offset: Int, length: Int) -> UInt32? {
            var done = 0
            while done < length {
                let n = buffer.withUnsafeMutableBytes {
                    Syscalls.pread(fd, $0.baseAddress! + done, length - done, off_t(offset + done))
                }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return nil }
                done += n
            }
            return buffer.withUnsafeBytes { hooklog_crc32c_extend(0, $0.baseAddress, length) }
        }
    }

    private func isVerified(_ page: Int) -> Bool {
        verified.withLock { $0[page >> 6] & (1 << UInt64(page & 63)) != 0 }
    }

    /// Records `page` as verified if `crc` (nil: it could not be read) is its checksum.
    private func check(_ page: Int, crc: UInt32?) -> Bool {
        guard crc == crcs[page] else { return false }
        verified.withLock { $0[page >> 6] |= 1 << UInt64(page & 63) }
        return true
    }
}
