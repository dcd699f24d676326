#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one-writer-per-data-directory lock: an exclusive `flock` on `DIR/LOCK`, held for as long as the
/// store is open and released by the kernel if the process dies, so a crash never leaves it stale.
final class DirectoryLock: Sendable {
    let file: RawFile

    init(directory: String) throws(StoreError) {
        let path = directory + "/LOCK"
        file = try RawFile(path: path, flags: O_RDWR | O_CREAT)
        if flock(file.fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? file.read(at: 0, count: 32)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            let pid = holder.split(separator: "\n").first.map { " (pid \($0))" } ?? ""
            throw StoreError(
                .locked,
                "\(directory) is already open for writing by another hooklog process\(pid); stop it, or use another --data directory",
                path: directory)
        }
        try? file.truncate(to: 0)
        try? file.write(Array("\(getpid())\n".utf8), at: 0)
    }

    /// Whether some process holds the writer lock of `directory` (a reader asks, to know whether the
    /// commit mark is live).
    static func isHeld(directory: String) -> Bool {
        let fd = open(directory + "/LOCK", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }

    func release() { flock(file.fd, LOCK_UN) }
}
