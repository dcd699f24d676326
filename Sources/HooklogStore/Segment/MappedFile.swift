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

    init(path: String) throws(StoreError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.system("open", path: path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.system("stat", path: path) }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw StoreError.system("map", path: path) }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    @inline(__always)
    func u32(at offset: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }

    @inline(__always)
    func u64(at offset: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }

    /// A copy of `range`.
    func copy(_ range: Range<Int>) -> [UInt8] { Array(bytes[range]) }
}
