import CThread
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every system call the store makes on its files, in one place: the seam where tests stand a simulated
/// disk (power cuts, torn writes, EIO, ENOSPC, short writes) behind the real one.
///
/// Each wrapper has the C call's contract: it returns what the call returns and leaves `errno` set as the
/// call does. With no interposer installed (every process but a fault test) each is the bare call behind
/// one relaxed atomic load.
enum Syscalls {
    /// The calls a simulated disk takes over. An interposer sees every call of every thread of the store
    /// and must be safe to call concurrently.
    protocol Interposer: AnyObject, Sendable {
        func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32
        func close(_ fd: Int32) -> Int32
        func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int
        func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: off_t) -> Int
        func fdatasync(_ fd: Int32) -> Int32
        func fsync(_ fd: Int32) -> Int32
        func ftruncate(_ fd: Int32, _ length: off_t) -> Int32
        func writeBack(_ fd: Int32, _ offset: Int64, _ length: Int64) -> Int32
        func rename(_ from: String, _ to: String) -> Int32
        func unlink(_ path: String) -> Int32
        func mkdir(_ path: String, _ mode: mode_t) -> Int32
    }

    private static let installed = Atomic<Bool>(false)
    private static let interposer = Mutex<(any Interposer)?>(nil)

    /// Routes every call through `interposer` until `interpose(nil)`. For tests only.
    static func interpose(_ value: (any Interposer)?) {
        interposer.withLock { $0 = value }
        installed.store(value != nil, ordering: .sequentiallyConsistent)
    }

    @inline(__always)
    private static var current: (any Interposer)? {
        installed.load(ordering: .relaxed) ? interposer.withLock { $0 } : nil
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
        if let i = current { return i.open(path, flags, mode) }
        return Direct.open(path, flags, mode)
    }

    static func close(_ fd: Int32) -> Int32 {
        if let i = current { return i.close(fd) }
        return Direct.close(fd)
    }

    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
        if let i = current { return i.pread(fd, buffer, count, offset) }
        return Direct.pread(fd, buffer, count, offset)
    }

    static func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: off_t) -> Int {
        if let i = current { return i.pwrite(fd, buffer, count, offset) }
        return Direct.pwrite(fd, buffer, count, offset)
    }

    static func fdatasync(_ fd: Int32) -> Int32 {
        if let i = current { return i.fdatasync(fd) }
        return Direct.fdatasync(fd)
    }

    static func fsync(_ fd: Int32) -> Int32 {
        if let i = current { return i.fsync(fd) }
        return Direct.fsync(fd)
    }

    static func ftruncate(_ fd: Int32, _ length: off_t) -> Int32 {
        if let i = current { return i.ftruncate(fd, length) }
        return Direct.ftruncate(fd, length)
    }

    /// Starts and waits for write-back of a range (`sync_file_range`); -1 with ENOSYS where there is none.
    static func writeBack(_ fd: Int32, _ offset: Int64, _ length: Int64) -> Int32 {
        if let i = current { return i.writeBack(fd, offset, length) }
        return Direct.writeBack(fd, offset, length)
    }

    static func rename(_ from: String, _ to: String) -> Int32 {
        if let i = current { return i.rename(from, to) }
        return Direct.rename(from, to)
    }

    static func unlink(_ path: String) -> Int32 {
        if let i = current { return i.unlink(path) }
        return Direct.unlink(path)
    }

    static func mkdir(_ path: String, _ mode: mode_t) -> Int32 {
        if let i = current { return i.mkdir(path, mode) }
        return Direct.mkdir(path, mode)
    }

    /// The real calls, for an interposer to pass through to.
    enum Direct {
        static func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
            #if canImport(Glibc)
            Glibc.open(path, flags, mode)
            #else
            Darwin.open(path, flags, mode)
            #endif
        }
        static func close(_ fd: Int32) -> Int32 {
            #if canImport(Glibc)
            Glibc.close(fd)
            #else
            Darwin.close(fd)
            #endif
        }
        static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
            #if canImport(Glibc)
            Glibc.pread(fd, buffer, count, offset)
            #else
            Darwin.pread(fd, buffer, count, offset)
            #endif
        }
        static func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: off_t) -> Int {
            #if canImport(Glibc)
            Glibc.pwrite(fd, buffer, count, offset)
            #else
            Darwin.pwrite(fd, buffer, count, offset)
            #endif
        }
        static func fdatasync(_ fd: Int32) -> Int32 {
            #if canImport(Glibc)
            Glibc.fdatasync(fd)
            #else
            Darwin.fsync(fd)
            #endif
        }
        static func fsync(_ fd: Int32) -> Int32 {
            #if canImport(Glibc)
            Glibc.fsync(fd)
            #else
            Darwin.fsync(fd)
            #endif
        }
        static func ftruncate(_ fd: Int32, _ length: off_t) -> Int32 {
            #if canImport(Glibc)
            Glibc.ftruncate(fd, length)
            #else
            Darwin.ftruncate(fd, length)
            #endif
        }
        static func writeBack(_ fd: Int32, _ offset: Int64, _ length: Int64) -> Int32 {
            hooklog_write_back(fd, offset, length)
        }
        static func rename(_ from: String, _ to: String) -> Int32 {
            #if canImport(Glibc)
            Glibc.rename(from, to)
            #else
            Darwin.rename(from, to)
            #endif
        }
        static func unlink(_ path: String) -> Int32 {
            #if canImport(Glibc)
            Glibc.unlink(path)
            #else
            Darwin.unlink(path)
            #endif
        }
        static func mkdir(_ path: String, _ mode: mode_t) -> Int32 {
            #if canImport(Glibc)
            Glibc.mkdir(path, mode)
            #else
            Darwin.mkdir(path, mode)
            #endif
        }
    }
}
