import HooklogSigning
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What a running `serve` knows of its accounts, sources and admin token, kept in step with the files.
///
/// Every request asks for `current()`, which `stat`s the two files (about a microsecond each) and reloads
/// whichever changed, so `hooklog account add|rotate|remove` and `source add` take effect on the next
/// request without a restart. A file that cannot be read or parsed leaves the last good view in force
/// (and is logged once per change), so a bad edit never locks every sender out.
public final class AccountDirectory: Sendable {
    /// One consistent view.
    public struct Snapshot: Sendable {
        /// The book as loaded.
        public let book: AccountBook
        /// Accounts by token hash.
        let byTokenHash: [String: Account]
        /// Generic sources by name.
        let sources: [String: GenericSource]
        /// SHA-256 of the admin token, if there is one.
        let adminTokenHash: [UInt8]?

        init(book: AccountBook, adminToken: String?) {
            self.book = book
            var byToken: [String: Account] = [:]
            for a in book.accounts { byToken[a.tokenHash] = a }
            byTokenHash = byToken
            sources = Dictionary(book.sources.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            adminTokenHash = adminToken.map { HMACSHA256.digest(Array($0.utf8)) }
        }

        /// The account a token belongs to.
        public func account(token: String) -> Account? { byTokenHash[Token.hash(token)] }

        /// The generic source named `name`.
        public func source(named name: String) -> GenericSource? { sources[name] }

        /// Whether `token` is the admin token (compared as hashes, in constant time).
        public func isAdmin(token: String) -> Bool {
            guard let adminTokenHash else { return false }
            return ConstantTime.equal(HMACSHA256.digest(Array(token.utf8)), adminTokenHash)
        }
    }

    private struct Stamp: Equatable {
        var device: UInt64 = 0, inode: UInt64 = 0, size: Int64 = -1, seconds: Int = 0, nanoseconds: Int = 0

        init() {}

        init(path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return }
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            seconds = st.st_mtim.tv_sec
            nanoseconds = st.st_mtim.tv_nsec
        }
    }

    private struct State {
        var accountsStamp = Stamp()
        var adminStamp = Stamp()
        var book = AccountBook()
        var adminToken: String?
        var snapshot: Snapshot
    }

    private let file: AccountFile
    private let logger: Logger
    private let state: Mutex<State>

    /// Watches the files of `directory`.
    public init(directory: String, logger: Logger) {
        self.file = AccountFile(directory: directory)
        self.logger = logger
        self.state = Mutex(State(snapshot: Snapshot(book: AccountBook(), adminToken: nil)))
        _ = current()
    }

    /// The view as the files stand now.
    public func current() -> Snapshot {
        let accountsStamp = Stamp(path: file.path)
        let adminStamp = Stamp(path: AdminToken.path(directory: file.directory))
        return state.withLock { s in
            guard accountsStamp != s.accountsStamp || adminStamp != s.adminStamp else { return s.snapshot }
            if accountsStamp != s.accountsStamp {
                do {
                    s.book = try file.load()
                } catch {
                    logger.error("keeping the previous accounts: \(error)")
                }
                s.accountsStamp = accountsStamp
            }
            if adminStamp != s.adminStamp {
                s.adminToken = AdminToken.load(directory: file.directory)
                s.adminStamp = adminStamp
            }
            s.snapshot = Snapshot(book: s.book, adminToken: s.adminToken)
            return s.snapshot
        }
    }
}
