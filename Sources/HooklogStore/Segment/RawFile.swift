import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file descriptor with the handful of calls the store needs, each throwing a `StoreError` that
/// names the file. `pread`/`pwrite` carry their own offsets, so one `RawFile` serves concurrent readers.
final class RawFile: Sendable {
    let fd: Int32
    let path: String
    /// For a segment file: its layout and dictionary, read the first time a frame needs them (see
    /// `SegmentDictionary.cachedLayout`). They belong to this open file: a segment recompressed since is
    /// a new file, opened anew.
    let segmentLayout = Mutex<SegmentDictionary.Layout?>(nil)

    /// Opens `path` with `open(2)` flags. Files are created readable by their owner only: they hold
    /// customer data.
    init(path: String, flags: Int32, mode: mode_t = 0o600) throws(StoreError) {
        let fd = Syscalls.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StoreError.system("open", path: path) }
        self.fd = fd
        self.path = path
    }

    deinit { _ = Syscalls.close(fd) }

    /// The file's current size.
    func size() throws(StoreError) -> UInt64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.system("stat", path: path) }
        return UInt64(st.st_size)
    }

    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    func read(at offset: UInt64, count: Int) throws(StoreError) -> [UInt8] {
        if count == 0 { return [] }
        var failed: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            var done = 0
            while done < count {
                let n = Syscalls.pread(fd, buf.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if failed != 0 { throw StoreError.system("read", path: path, errno: failed) }
        return bytes
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: UInt64) throws(StoreError) {
        var failure: StoreError? = nil
        bytes.withUnsafeBytes { buf in
            do throws(StoreError) { try write(buf, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes all of `buffer` at `offset`.
    func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(StoreError) {
        var done = 0
        while done < buffer.count {
            let n = Syscalls.pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.system("write", path: path)
            }
            done += n
        }
    }

    /// Writes `bytes` from offset 0 a quarter MB at a time, each piece written back to the disk before
    /// the next (for background writes of whole files: index files, recompressed logs).
    ///
    /// Why: one write of many MB and its `fdatasync` filled the disk's queue, and the log's own syncs
    /// (every acknowledgement) waited behind it: 3-7 ms instead of 0.3 while a sealed segment's 18 MB
    /// index was written, 10-18 ms while a recompressed log was. The caller still syncs after.
    func writeBackInPieces(_ bytes: [UInt8]) throws(StoreError) {
        var failure: StoreError? = nil
        bytes.withUnsafeBytes { all in
            do throws(StoreError) {
                try inPiecesWrittenBack(from: 0, to: UInt64(all.count)) { at, n throws(StoreError) in
                    try write(UnsafeRawBufferPointer(rebasing: all[Int(at)..<(Int(at) + n)]), at: at)
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Writes zeros over `from..<to`, a quarter MB at a time, each piece written back before the next
    /// (the zeros ahead of the active segment: see `Preallocator`). The caller syncs after.
    func writeZerosInPieces(from: UInt64, to: UInt64) throws(StoreError) {
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.writeBackPiece, alignment: 16)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        try inPiecesWrittenBack(from: from, to: to) { at, n throws(StoreError) in
            try write(UnsafeRawBufferPointer(rebasing: zeros[..<n]), at: at)
        }
    }

    /// The piece `writeBackInPieces` and `writeZerosInPieces` write, then write back.
    private static let writeBackPiece = 256 << 10

    /// Calls `write(at, n)` for each piece of `from..<to` in order, and asks the kernel to write each
    /// piece back to the disk before the next: `fdatasync` writes every dirty page of the file, so the
    /// next sync (the log's own, under every acknowledgement) would otherwise carry all of them at once.
    ///
    /// A failed write-back is an error, not advice: Linux reports a write-back error once per open file,
    /// so an error swallowed here would never reach the caller's `fdatasync`.
    private func inPiecesWrittenBack(
        from: UInt64, to: UInt64, _ write: (_ at: UInt64, _ count: Int) throws(StoreError) -> Void
    ) throws(StoreError) {
        var at = from
        while at < to {
            let n = Int(min(UInt64(Self.writeBackPiece), to - at))
            try write(at, n)
            if Syscalls.writeBack(fd, Int64(at), Int64(n)) != 0 && errno != ENOSYS {
                throw StoreError.system("write back", path: path)
            }
            at += UInt64(n)
        }
    }

    /// `fdatasync(2)`: the data (and the size, when it changed) is on stable storage when this returns.
    func syncData() throws(StoreError) {
        guard Syscalls.fdatasync(fd) == 0 else { throw StoreError.system("sync", path: path) }
    }

    /// Drops the file's clean pages from the page cache, so the next reads come from the disk.
    ///
    /// Recovery reads the log this way: after a failed write-back Linux may keep the pages cached and
    /// marked clean although the disk never got them, so a process that reopens the archive would trust
    /// bytes that a power cut will take back.
    func dropCachedPages() {
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
        #endif
    }

    /// Cuts the file to `length`.
    func truncate(to length: UInt64) throws(StoreError) {
        guard Syscalls.ftruncate(fd, off_t(length)) == 0 else { throw StoreError.system("truncate", path: path) }
    }
}

/// File-system helpers that are not about one open file.
enum FileSystem {
    /// Makes a directory entry durable: after creating, renaming or removing a file, its directory
    /// must be synced, or a crash can forget the change.
    static func syncDirectory(_ path: String) throws(StoreError) {
        let fd = Syscalls.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw StoreError.system("open directory", path: path) }
        defer { _ = Syscalls.close(fd) }
        guard Syscalls.fsync(fd) == 0 else { throw StoreError.system("sync directory", path: path) }
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates a directory readable by its owner only (an archive holds customer data).
    static func makeDirectory(_ path: String) throws(StoreError) {
        if isDirectory(path) { return }
        if Syscalls.mkdir(path, 0o700) != 0 {
            if errno == EEXIST { return }
            throw StoreError.system("create directory", path: path)
        }
        // The new entry is durable once its parent directory is synced.
        let parent = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        try syncDirectory(parent)
    }

    /// Names in a directory (no `.`/`..`), unsorted.
    static func list(_ path: String) throws(StoreError) -> [String] {
        guard let dir = opendir(path) else { throw StoreError.system("list", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func remove(_ path: String) throws(StoreError) {
        if Syscalls.unlink(path) != 0 && errno != ENOENT { throw StoreError.system("remove", path: path) }
    }

    static func rename(_ from: String, _ to: String) throws(StoreError) {
        if Syscalls.rename(from, to) != 0 { throw StoreError.system("rename", path: from) }
    }

    static func fileSize(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_size) : nil
    }

    /// Writes `bytes` to `path` atomically: a temporary file, synced, renamed over, directory synced.
    ///
    /// - Parameter uncached: drop the file's pages from the page cache once synced (index files). Written
    ///   in one go, the file sits in the cache in large folios (2 MB), and a recent kernel maps a whole
    ///   folio into a reader's memory on its first touch: one key lookup made 4 MB of every index
    ///   resident (a cold `query` on the 10 M archive peaked at 121 MB of RSS). Read back a page at a
    ///   time (`MappedFile` maps with `MADV_RANDOM`: no readahead), it costs the pages it reads (25 MB).
    ///   Such files are written in the background, so they are also written back in pieces
    ///   (`writeBackInPieces`), never queued on the disk ahead of the log's syncs all at once.
    static func writeAtomically(
        _ bytes: [UInt8], to path: String, directory: String, uncached: Bool = false
    ) throws(StoreError) {
        let temp = path + ".tmp"
        do throws(StoreError) {
            let file = try RawFile(path: temp, flags: O_WRONLY | O_CREAT | O_TRUNC)
            if uncached { try file.writeBackInPieces(bytes) } else { try file.write(bytes, at: 0) }
            try file.syncData()
            #if os(Linux)
            if uncached { _ = posix_fadvise(file.fd, 0, 0, Int32(POSIX_FADV_DONTNEED)) }
            #endif
        } catch {
            try? remove(temp)
            throw error
        }
        try rename(temp, path)
        try syncDirectory(directory)
    }
}

/// Wall-clock time in microseconds since the Unix epoch.
func currentMicros() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
}
