import CSQLite3
import Corpus

/// The SQLite reference: the obvious way to build this archive on SQLite, made as durable as the store.
///
/// WAL journal with `synchronous=FULL` (a commit is fsynced before it returns, like an append), a table
/// `events(seq INTEGER PRIMARY KEY, received_at, account, source, type, entity, refs, id, payload BLOB)`
/// with indexes on account, type and entity, and a `refs(ref, seq)` side table indexed on `(ref, seq)`.
// `@unchecked Sendable`: one connection (opened NOMUTEX) is only ever used by one thread at a time; the
// 8-writer append benchmark hands each thread a connection of its own.
public final class SQLiteReference: @unchecked Sendable {
    public struct SQLiteError: Error, CustomStringConvertible {
        public var description: String
    }

    /// One row as a query returns it.
    public struct Row: Sendable {
        public var seq: Int64
        public var receivedAt: Int64
        public var account: String
        public var source: String
        public var type: String
        public var entity: String?
        public var refs: String
        public var id: String?
        public var payload: [UInt8]
    }

    public let path: String
    private var db: OpaquePointer?
    private var insertEvent: OpaquePointer?
    private var insertRef: OpaquePointer?
    private var byEntity: OpaquePointer?

    /// Opens (creating if needed) the database at `path`.
    /// - Parameter synchronous: `FULL` for the durable comparison; `OFF` only to build the big archive fast.
    public init(path: String, synchronous: String = "FULL") throws {
        self.path = path
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK
        else {
            throw SQLiteError(description: "cannot open \(path)")
        }
        // Concurrent writers (the 8-writer append reference) wait for the write lock instead of failing.
        sqlite3_busy_timeout(db, 60_000)
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=\(synchronous)")
        try exec("PRAGMA cache_size=-65536")  // 64 MB page cache: warm reads
        try exec(
            """
            CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, received_at INTEGER NOT NULL,
              account TEXT NOT NULL, source TEXT NOT NULL, type TEXT NOT NULL, entity TEXT, refs TEXT NOT NULL,
              id TEXT, payload BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS events_account ON events(account);
            CREATE INDEX IF NOT EXISTS events_type ON events(type);
            CREATE INDEX IF NOT EXISTS events_entity ON events(entity);
            CREATE TABLE IF NOT EXISTS refs(ref TEXT NOT NULL, seq INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS refs_ref ON refs(ref, seq);
            """)
        insertEvent = try prepare(
            "INSERT INTO events(received_at, account, source, type, entity, refs, id, payload) VALUES(?,?,?,?,?,?,?,?)")
        insertRef = try prepare("INSERT INTO refs(ref, seq) VALUES(?,?)")
        byEntity = try prepare(
            "SELECT seq, received_at, account, source, type, entity, refs, id, payload FROM events WHERE entity=? ORDER BY seq")
    }

    deinit { close() }

    public func close() {
        for s in [insertEvent, insertRef, byEntity] where s != nil { sqlite3_finalize(s) }
        insertEvent = nil
        insertRef = nil
        byEntity = nil
        if db != nil { sqlite3_close_v2(db) }
        db = nil
    }

    public func exec(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &err) != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? "unknown"
            sqlite3_free(err)
            throw SQLiteError(description: "\(sql.prefix(60)): \(message)")
        }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer? {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil) == SQLITE_OK else {
            throw SQLiteError(description: "prepare \(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
        return stmt
    }

    private func check(_ rc: Int32, _ what: String) throws {
        if rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW {
            throw SQLiteError(description: "\(what): \(String(cString: sqlite3_errmsg(db)))")
        }
    }

    private static func bind(_ stmt: OpaquePointer?, _ index: Int32, _ text: String?) {
        guard var text else {
            sqlite3_bind_null(stmt, index)
            return
        }
        text.withUTF8 { utf8 in
            // SQLITE_TRANSIENT: SQLite copies the text, as the buffer lives only for this call.
            _ = sqlite3_bind_text(
                stmt, index, UnsafeRawPointer(utf8.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(utf8.count),
                unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
    }

    /// Stores a batch in one transaction (one fsync with `synchronous=FULL`).
    public func insert(_ batch: [CorpusEvent], receivedAt: Int64) throws {
        try exec("BEGIN IMMEDIATE")
        do {
            for e in batch {
                sqlite3_bind_int64(insertEvent, 1, receivedAt)
                Self.bind(insertEvent, 2, e.account)
                Self.bind(insertEvent, 3, e.source)
                Self.bind(insertEvent, 4, e.type)
                Self.bind(insertEvent, 5, e.entity)
                Self.bind(insertEvent, 6, Self.jsonArray(e.refs))
                Self.bind(insertEvent, 7, e.id)
                e.payload.withUnsafeBytes { p in
                    _ = sqlite3_bind_blob(
                        insertEvent, 8, p.baseAddress, Int32(p.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                }
                try check(sqlite3_step(insertEvent), "insert event")
                sqlite3_reset(insertEvent)
                let seq = sqlite3_last_insert_rowid(db)
                for r in e.refs {
                    Self.bind(insertRef, 1, r)
                    sqlite3_bind_int64(insertRef, 2, seq)
                    try check(sqlite3_step(insertRef), "insert ref")
                    sqlite3_reset(insertRef)
                }
            }
            try exec("COMMIT")
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    static func jsonArray(_ refs: [String]) -> String {
        var s = "["
        for (i, r) in refs.enumerated() {
            if i > 0 { s += "," }
            s += "\"" + r + "\""
        }
        return s + "]"
    }

    /// `SELECT ... WHERE entity=? ORDER BY seq`, every column copied out as the store's reader does.
    public func events(entity: String) throws -> [Row] {
        Self.bind(byEntity, 1, entity)
        defer { sqlite3_reset(byEntity) }
        var rows: [Row] = []
        while true {
            let rc = sqlite3_step(byEntity)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { try check(rc, "select"); break }
            let s = byEntity
            func text(_ i: Int32) -> String? {
                guard let p = sqlite3_column_text(s, i) else { return nil }
                return String(cString: p)
            }
            let n = Int(sqlite3_column_bytes(s, 8))
            let payload = n == 0 ? [] : [UInt8](UnsafeRawBufferPointer(start: sqlite3_column_blob(s, 8), count: n))
            rows.append(
                Row(
                    seq: sqlite3_column_int64(s, 0), receivedAt: sqlite3_column_int64(s, 1), account: text(2) ?? "",
                    source: text(3) ?? "", type: text(4) ?? "", entity: text(5), refs: text(6) ?? "[]", id: text(7),
                    payload: payload))
        }
        return rows
    }

    /// Folds the WAL into the database file (so its size is the database's).
    public func checkpoint() throws {
        try exec("PRAGMA wal_checkpoint(TRUNCATE)")
    }
}
