import Foundation
import Synchronization
import Testing

@testable import HooklogStore

/// The tests that put a `SimulatedDisk` behind the seam: one process-wide seam, so one test at a time.
@Suite(.serialized) enum DiskSimulation {}

/// A disk with a page cache, behind the store's `Syscalls` seam, for power-cut tests.
///
/// Every call still reaches the real file system (so the store reads what it wrote, as from a page
/// cache), and the disk keeps a model beside it: for each file, the bytes its last `fdatasync` made
/// durable and the 4 KB pages written since; for each directory, the entries its last `fsync` made
/// durable. `powerCut` then writes out what a machine would find after losing power: durable bytes, a
/// random subset of the unsynced pages (torn writes), the durable size or the new one, and the
/// directory entries as last synced (a create, rename or unlink not yet synced is taken back).
///
/// `crashAfter` cuts the power at a chosen mutating call: that call and every later one on the disk's
/// files fail with EIO and change nothing, as if the process had died there. `faultRate` makes calls fail
/// at random before that (EIO from a sync or write-back, ENOSPC or a short count from a write).
///
/// Only paths under `root`, and descriptors opened on them, are modelled; everything else passes through.
/// Everything is seeded: the same seed, workload and crash point give the same image.
final class SimulatedDisk: Syscalls.Interposer, Sendable {
    static let pageSize = 4096

    struct Inode {
        var isDirectory = false
        /// What the file holds now (the page cache).
        var current: [UInt8] = []
        /// What a power cut keeps for certain.
        var durable: [UInt8] = []
        /// Pages written or cut since the last sync: each may or may not survive a power cut.
        var dirty = Set<Int>()

        mutating func markDirty(_ range: Range<Int>) {
            guard !range.isEmpty else { return }
            for page in (range.lowerBound / SimulatedDisk.pageSize)...((range.upperBound - 1) / SimulatedDisk.pageSize)
            {
                dirty.insert(page)
            }
        }
    }

    struct State {
        var inodes: [Int: Inode] = [:]
        var nextInode = 1
        /// Path → inode, as the file system has it now.
        var names: [String: Int] = [:]
        /// Path → inode, as a power cut finds it.
        var durableNames: [String: Int] = [:]
        /// Open descriptors on modelled files: fd → (inode, path opened).
        var open: [Int32: (inode: Int, path: String)] = [:]
        /// Descriptors found to be on files outside the root (until the number is opened here again).
        var outside = Set<Int32>()
        var mutatingCalls = 0
        var crashed = false
        var rng: SeededRandom
        var faults: [String] = []
        /// Every mutating call admitted, in order ("sync PATH fd N", "write PATH fd N at OFFSET", ...).
        var trace: [String] = []
    }

    let root: String
    let crashAfter: Int?
    let faultRate: Double
    /// Chooses the calls that fail, by their trace line: the errno to fail with (0 for a short write).
    let inject: (@Sendable (String) -> Int32?)?
    private let state: Mutex<State>

    /// - Parameters:
    ///   - root: the folder modelled; what it holds now counts as durable.
    ///   - crashAfter: the number of mutating calls after which the power is cut (nil: at `powerCut`).
    ///   - faultRate: the chance that a mutating call fails (before the cut).
    init(
        root: String, seed: UInt64, crashAfter: Int?, faultRate: Double = 0,
        inject: (@Sendable (String) -> Int32?)? = nil
    ) {
        self.root = root
        self.crashAfter = crashAfter
        self.faultRate = faultRate
        self.inject = inject
        var s = State(rng: SeededRandom(seed: seed))
        Self.load(root, into: &s)
        state = Mutex(s)
    }

    /// Whether the power was cut by `crashAfter` (calls since then failed).
    var crashed: Bool { state.withLock { $0.crashed } }
    /// Mutating calls seen so far.
    var mutatingCalls: Int { state.withLock { $0.mutatingCalls } }
    /// Every mutating call so far, in order.
    var trace: [String] { state.withLock { $0.trace } }
    /// The faults injected, in order (for a failure's report).
    var faults: [String] { state.withLock { $0.faults } }

    private static func load(_ directory: String, into s: inout State) {
        let inode = s.nextInode
        s.nextInode += 1
        s.inodes[inode] = Inode(isDirectory: true)
        s.names[directory] = inode
        s.durableNames[directory] = inode
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = directory + "/" + name
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                load(path, into: &s)
            } else {
                let bytes = Array(FileManager.default.contents(atPath: path) ?? Data())
                let file = s.nextInode
                s.nextInode += 1
                s.inodes[file] = Inode(current: bytes, durable: bytes)
                s.names[path] = file
                s.durableNames[path] = file
            }
        }
    }

    private func modelled(_ path: String) -> Bool { path == root || path.hasPrefix(root + "/") }

    /// The modelled file open on `fd`, registering a descriptor opened before this disk was installed.
    private func file(_ s: inout State, _ fd: Int32) -> (inode: Int, path: String)? {
        if let known = s.open[fd] { return known }
        if s.outside.contains(fd) { return nil }
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        let path = n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        guard modelled(path), let inode = s.names[path] else {
            s.outside.insert(fd)
            return nil
        }
        s.open[fd] = (inode, path)
        return (inode, path)
    }

    /// Whether `fd` is on a modelled file. Calls on other files (other tests running meanwhile) go
    /// straight to the system, outside the lock.
    private func models(_ fd: Int32) -> Bool { state.withLock { s in file(&s, fd) != nil } }

    private static func parent(_ path: String) -> String {
        String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
    }

    /// Counts a mutating call on a modelled file; returns the errno it must fail with, if any.
    private func admit(_ s: inout State, _ what: String, faults allowed: [Int32]) -> Int32? {
        if s.crashed { return EIO }
        s.mutatingCalls += 1
        s.trace.append(what)
        if let crashAfter, s.mutatingCalls > crashAfter {
            s.crashed = true
            return EIO
        }
        if let code = inject?(what) {
            s.faults.append("\(what): injected \(code)")
            return code
        }
        if faultRate > 0, !allowed.isEmpty, Double.random(in: 0..<1, using: &s.rng) < faultRate {
            let code = allowed.randomElement(using: &s.rng)!
            s.faults.append("\(what): \(code == EIO ? "EIO" : code == ENOSPC ? "ENOSPC" : "short write")")
            return code
        }
        return nil
    }

    // MARK: Syscalls.Interposer

    func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
        guard modelled(path) else { return Syscalls.Direct.open(path, flags, mode) }
        return state.withLock { s in
            let creates = flags & (O_CREAT | O_TRUNC) != 0
            if creates, let code = admit(&s, "create \(path)", faults: []) {
                errno = code
                return -1
            }
            let fd = Syscalls.Direct.open(path, flags, mode)
            guard fd >= 0 else { return fd }
            let inode: Int
            if let existing = s.names[path] {
                inode = existing
            } else {
                inode = s.nextInode
                s.nextInode += 1
                s.inodes[inode] = Inode()
                s.names[path] = inode
            }
            if flags & O_TRUNC != 0, !(s.inodes[inode]!.current.isEmpty) {
                s.inodes[inode]!.markDirty(0..<s.inodes[inode]!.current.count)
                s.inodes[inode]!.current = []
            }
            s.open[fd] = (inode, path)
            s.outside.remove(fd)
            return fd
        }
    }

    func close(_ fd: Int32) -> Int32 {
        state.withLock { s in
            s.open[fd] = nil
            s.outside.remove(fd)
        }
        return Syscalls.Direct.close(fd)
    }

    func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
        if let inject {
            // Reads change nothing and count for no crash point; only an injected failure applies.
            let path = state.withLock { s in file(&s, fd)?.path }
            if let path, let code = inject("read \(path) at \(offset)") {
                errno = code
                return -1
            }
        }
        return Syscalls.Direct.pread(fd, buffer, count, offset)
    }

    func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: off_t) -> Int {
        guard models(fd) else { return Syscalls.Direct.pwrite(fd, buffer, count, offset) }
        return state.withLock { s in
            guard let (inode, path) = file(&s, fd) else { return Syscalls.Direct.pwrite(fd, buffer, count, offset) }
            var count = count
            if let code = admit(&s, "write \(path) fd \(fd) at \(offset)", faults: [EIO, ENOSPC, 0]) {
                if code != 0 {
                    errno = code
                    return -1
                }
                count = max(1, count / 2)  // a short write
            }
            let n = Syscalls.Direct.pwrite(fd, buffer, count, offset)
            guard n > 0 else { return n }
            let start = Int(offset)
            var file = s.inodes[inode]!
            if file.current.count < start + n {
                file.current += [UInt8](repeating: 0, count: start + n - file.current.count)
            }
            file.current.withUnsafeMutableBytes {
                $0.baseAddress!.advanced(by: start).copyMemory(from: buffer, byteCount: n)
            }
            file.markDirty(start..<(start + n))
            s.inodes[inode] = file
            return n
        }
    }

    func fdatasync(_ fd: Int32) -> Int32 {
        guard models(fd) else { return Syscalls.Direct.fdatasync(fd) }
        return state.withLock { s in
            guard let (inode, path) = file(&s, fd) else { return Syscalls.Direct.fdatasync(fd) }
            if let code = admit(&s, "sync \(path) fd \(fd)", faults: [EIO]) {
                errno = code
                return -1
            }
            var file = s.inodes[inode]!
            // Only what changed since the last sync is copied: the rest is durable already.
            let count = file.current.count
            if file.durable.count > count { file.durable.removeLast(file.durable.count - count) }
            if file.durable.count < count { file.durable += [UInt8](repeating: 0, count: count - file.durable.count) }
            for page in file.dirty where page * Self.pageSize < count {
                let range = (page * Self.pageSize)..<min((page + 1) * Self.pageSize, count)
                file.durable.replaceSubrange(range, with: file.current[range])
            }
            file.dirty = []
            s.inodes[inode] = file
            return 0
        }
    }

    func fsync(_ fd: Int32) -> Int32 {
        let isDirectory = state.withLock { s in file(&s, fd).map { s.inodes[$0.inode]!.isDirectory } }
        guard let isDirectory else { return Syscalls.Direct.fsync(fd) }
        guard isDirectory else { return fdatasync(fd) }
        return state.withLock { s in
            let directory = s.open[fd]!.path
            if let code = admit(&s, "sync directory \(directory)", faults: [EIO]) {
                errno = code
                return -1
            }
            for (path, _) in s.durableNames where Self.parent(path) == directory && s.names[path] == nil {
                s.durableNames[path] = nil
            }
            for (path, inode) in s.names where Self.parent(path) == directory { s.durableNames[path] = inode }
            return 0
        }
    }

    func ftruncate(_ fd: Int32, _ length: off_t) -> Int32 {
        guard models(fd) else { return Syscalls.Direct.ftruncate(fd, length) }
        return state.withLock { s in
            guard let (inode, path) = file(&s, fd) else { return Syscalls.Direct.ftruncate(fd, length) }
            if let code = admit(&s, "truncate \(path) fd \(fd) to \(length)", faults: [EIO]) {
                errno = code
                return -1
            }
            let result = Syscalls.Direct.ftruncate(fd, length)
            guard result == 0 else { return result }
            var file = s.inodes[inode]!
            let old = file.current.count
            let new = Int(length)
            if new < old {
                file.current.removeLast(old - new)
            } else {
                file.current += [UInt8](repeating: 0, count: new - old)
            }
            file.markDirty(min(old, new)..<max(old, new))
            s.inodes[inode] = file
            return 0
        }
    }

    func writeBack(_ fd: Int32, _ offset: Int64, _ length: Int64) -> Int32 {
        guard models(fd) else { return Syscalls.Direct.writeBack(fd, offset, length) }
        return state.withLock { s in
            guard let (_, path) = file(&s, fd) else { return Syscalls.Direct.writeBack(fd, offset, length) }
            // Starts write-back only: nothing is durable for it (no flush of the disk's cache).
            if let code = admit(&s, "write back \(path) fd \(fd)", faults: [EIO]) {
                errno = code
                return -1
            }
            return 0
        }
    }

    func rename(_ from: String, _ to: String) -> Int32 {
        guard modelled(from) || modelled(to) else { return Syscalls.Direct.rename(from, to) }
        return state.withLock { s in
            if let code = admit(&s, "rename \(from) to \(to)", faults: [EIO]) {
                errno = code
                return -1
            }
            let result = Syscalls.Direct.rename(from, to)
            guard result == 0 else { return result }
            s.names[to] = s.names.removeValue(forKey: from)
            return 0
        }
    }

    func unlink(_ path: String) -> Int32 {
        guard modelled(path) else { return Syscalls.Direct.unlink(path) }
        return state.withLock { s in
            if let code = admit(&s, "unlink \(path)", faults: [EIO]) {
                errno = code
                return -1
            }
            let result = Syscalls.Direct.unlink(path)
            guard result == 0 else { return result }
            s.names[path] = nil
            return 0
        }
    }

    func mkdir(_ path: String, _ mode: mode_t) -> Int32 {
        guard modelled(path) else { return Syscalls.Direct.mkdir(path, mode) }
        return state.withLock { s in
            if let code = admit(&s, "mkdir \(path)", faults: []) {
                errno = code
                return -1
            }
            let result = Syscalls.Direct.mkdir(path, mode)
            guard result == 0 else { return result }
            let inode = s.nextInode
            s.nextInode += 1
            s.inodes[inode] = Inode(isDirectory: true)
            s.names[path] = inode
            return 0
        }
    }

    // MARK: The power cut

    /// Replaces everything under `root` with what survives a power cut now. Call with no store open.
    func powerCut() {
        let image: [(path: String, bytes: [UInt8]?)] = state.withLock { s in
            s.crashed = true
            var out: [(String, [UInt8]?)] = []
            // An entry survives when it and every folder above it (below the root) are durable.
            func survives(_ path: String) -> Bool {
                var p = path
                while p != root {
                    guard let inode = s.durableNames[p], s.inodes[inode] != nil else { return false }
                    p = Self.parent(p)
                }
                return true
            }
            for (path, inode) in s.durableNames.sorted(by: { $0.key < $1.key }) where path != root && survives(path) {
                let file = s.inodes[inode]!
                if file.isDirectory {
                    out.append((path, nil))
                    continue
                }
                let size = Bool.random(using: &s.rng) ? file.durable.count : file.current.count
                var bytes = Array(file.durable.prefix(size))
                bytes += [UInt8](repeating: 0, count: size - bytes.count)
                for page in file.dirty.sorted() where Bool.random(using: &s.rng) {
                    let lower = page * Self.pageSize
                    let upper = min((page + 1) * Self.pageSize, size, file.current.count)
                    if lower < upper { bytes.replaceSubrange(lower..<upper, with: file.current[lower..<upper]) }
                }
                out.append((path, bytes))
            }
            return out
        }
        try? FileManager.default.removeItem(atPath: root)
        try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for (path, bytes) in image {
            if let bytes {
                _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            } else {
                try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            }
        }
    }
}
