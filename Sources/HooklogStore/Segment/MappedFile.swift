import CCRC32C

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole immutable file (sealed index files).
///
/// Index files are written once, under a temporary name, and renamed into place: a mapped one never
/// changes underneath its readers, and an unlinked one stays mapped until the last reader drops it.
/// Mapping keeps them out of the heap: only the pages a lookup touches are read.
///
/// `@unchecked Sendable`: the mapping is `PROT_READ` and never written through, `base`/`count` are
/// immutable after `init`, and `munmap` runs only in `deinit` when no reference remains.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeRawPointer?
    let count: Int
    let path: String

    /// Maps the file.
    init(path: String) throws(StoreError) {
        self.path = path
        let fd = Syscalls.open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw StoreError.system("open", path: path) }
        defer { _ = Syscalls.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.system("stat", path: path) }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        // The head (file header, page table, directory) is read through the map as soon as it is
        // opened: read it once with `pread` first, so that a disk error there is an error here (the
        // index is rebuilt from its log), not a SIGBUS on the first touch of the mapped page. Later
        // pages are read the same way before their first use (`PageChecksums`).
        var head = [UInt8](repeating: 0, count: min(count, Self.headLength))
        var done = 0
        while done < head.count {
            let n = head.withUnsafeMutableBytes {
                Syscalls.pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw n < 0
                    ? StoreError.system("read", path: path)
                    : StoreError(.corrupt, "\(path) changed while read", path: path)
            }
            done += n
        }
        let p = mmap(nil, count, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw StoreError.system("map", path: path) }
        #if os(Linux)
        // Lookups read a few scattered pages: no readahead around a fault (it would fill the cache, and
        // this mapping, with large folios; see `FileSystem.writeAtomically(uncached:)`), and no 2 MB
        // mappings of a folio the cache holds anyway. Advice only: a failure changes nothing else.
        _ = madvise(p, count, MADV_RANDOM)
        _ = madvise(p, count, MADV_NOHUGEPAGE)
        #endif
        base = UnsafeRawPointer(p)
    }

    /// The CRC32C of `range` of the file at `path`, read from the file (for version 1 index files, whose
    /// one checksum covers the whole body).
    ///
    /// Reading rather than going over the map matters for memory: a pass over a mapped index makes every
    /// one of its pages resident in this process (264 MB of RSS for the indexes of a 10 M-event archive),
    /// while lookups touch a few pages of each. Read, the pages stay in the page cache, not in our RSS.
    static func checksum(path: String, _ range: Range<Int>) throws(StoreError) -> UInt32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.system("open", path: path) }
        defer { close(fd) }
        var crc: UInt32 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var at = range.lowerBound
        while at < range.upperBound {
            let want = min(buffer.count, range.upperBound - at)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(at)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw n < 0
                    ? StoreError.system("read", path: path)
                    : StoreError(.corrupt, "\(path) changed while read", path: path)
            }
            crc = CRC32C.checksum(buffer[..<n], seed: crc)
            at += n
        }
        return crc
    }

    /// Bytes read with `pread` when the file is opened (see `init`): the header, page table and
    /// directory of any index up to hundreds of MB.
    static let headLength = 64 << 10

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    @inline(__always)
    func u32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func u64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Whether the page cache holds every page of `range` (`mincore`): reading them through the map
    /// needs no I/O, so cannot fault on a disk error. False when it cannot tell.
    func isResident(_ range: Range<Int>) -> Bool {
        guard let base, !range.isEmpty, range.upperBound <= count else { return false }
        let page = Self.systemPageSize
        let first = range.lowerBound / page * page
        let length = range.upperBound - first
        var pages = [UInt8](repeating: 0, count: (length + page - 1) / page)
        guard mincore(UnsafeMutableRawPointer(mutating: base + first), length, &pages) == 0 else { return false }
        return pages.allSatisfy { $0 & 1 != 0 }
    }

    /// The CRC32C of `length` bytes of the map at `offset`.
    func checksum(_ offset: Int, _ length: Int) -> UInt32 {
        hooklog_crc32c_extend(0, base.map { $0 + offset }, length)
    }

    private static let systemPageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// A copy of `range`.
    func copy(_ range: Range<Int>) -> [UInt8] { Array(bytes[range]) }
}
