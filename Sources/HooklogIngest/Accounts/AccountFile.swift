import Foundation
import HooklogStore

#if canImport(Glibc)
import Glibc
#endif

/// The `accounts.json` file of a data directory: read whole, changed under a lock, replaced atomically.
///
/// `account` and `source` commands may run while `serve` is reading the file: a change is written to a
/// temporary file, flushed, and renamed over the old one, so a reader sees the old book or the new one,
/// never a mix; a crash leaves the old one. A lock file serialises writers, so two concurrent `account add`s
/// both land.
public struct AccountFile: Sendable {
    /// The data directory.
    public let directory: String

    /// The file's path.
    public var path: String { directory + "/accounts.json" }

    /// The file for `directory`.
    public init(directory: String) {
        self.directory = directory
    }

    /// The book as the file holds it; empty if there is no file yet.
    public func load() throws(IngestConfigError) -> AccountBook {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) {
                throw IngestConfigError("cannot read \(path); check its permissions")
            }
            return AccountBook()
        }
        do {
            return try JSONDecoder().decode(AccountBook.self, from: data)
        } catch {
            throw IngestConfigError(
                "\(path) is not a valid accounts file (\(error)); restore it from a backup or remove it")
        }
    }

    /// Applies `change` to the current book and stores the result, holding the lock throughout.
    @discardableResult
    public func update<T>(_ change: (inout AccountBook) throws(IngestConfigError) -> T) throws(IngestConfigError) -> T {
        try makeDirectory()
        let lockPath = directory + "/accounts.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw IngestConfigError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else {
            throw IngestConfigError("cannot lock \(lockPath): \(String(cString: strerror(errno)))")
        }
        var book = try load()
        let result = try change(&book)
        try store(book)
        return result
    }

    private func makeDirectory() throws(IngestConfigError) {
        try AccountFile.makePrivateDirectory(directory)
    }

    /// Creates the data directory `path` (and any missing parent) if it does not exist yet, readable by
    /// its owner only (0700): it holds every payload and the accounts' secrets. A directory that already
    /// exists keeps the mode its owner gave it.
    public static func makePrivateDirectory(_ path: String) throws(IngestConfigError) {
        var st = stat()
        if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw IngestConfigError("cannot create the data directory \(path): \(error.localizedDescription)")
        }
        // The mode given to mkdir is masked by the umask; the owner-only mode is set as meant.
        guard chmod(path, 0o700) == 0 else {
            throw IngestConfigError("cannot make \(path) private (chmod 700): \(String(cString: strerror(errno)))")
        }
    }

    private func store(_ book: AccountBook) throws(IngestConfigError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(book) } catch { throw IngestConfigError("cannot encode the accounts: \(error)") }
        try AccountFile.writeAtomically(Array(data) + [0x0A], to: path, directory: directory)
    }

    /// Writes `bytes` to a temporary file beside `path` (mode 0600), flushes it, renames it over `path`
    /// and flushes the directory, so that `path` holds either its old content or all of `bytes`.
    static func writeAtomically(_ bytes: [UInt8], to path: String, directory: String) throws(IngestConfigError) {
        let temp = path + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw IngestConfigError("cannot write \(temp): \(String(cString: strerror(errno)))") }
        // Owner-only whatever the umask, and whatever mode a leftover temporary file had.
        fchmod(fd, 0o600)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temp)
                throw IngestConfigError("cannot write \(temp): \(reason)")
            }
            done += n
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw IngestConfigError("cannot replace \(path): \(reason)")
        }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }
}

/// A problem with the accounts file or an account command's arguments, said in one line.
public struct IngestConfigError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and what to do.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
