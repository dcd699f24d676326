import Foundation
import Synchronization

/// The archive's writer: opens (and recovers) a data directory and appends events durably.
///
/// One `ArchiveStore` per data directory at a time, across processes (a lock file enforces it). Appends
/// may come from any number of tasks at once: they are queued to a dedicated writer thread, which merges
/// whatever is waiting into one group commit — one write and one `fdatasync` — and only then answers.
/// Reading goes through `ArchiveReader`, which never blocks the writer.
///
/// The on-disk format is documented byte by byte in `docs/FORMAT.md`.
public final class ArchiveStore: Sendable {
    /// The data directory.
    public let directory: String
    /// What recovery found and repaired on open (torn tails cut, damaged ranges, rebuilt indexes).
    public let recoveryNotes: [String]
    private let queue: WorkerThread<Job>
    private let writerHealth: WriterHealth

    enum Job: Sendable {
        case append(AppendRequest, CheckedContinuation<AppendResult, any Error>)
        case retention(CheckedContinuation<[UInt64], any Error>)
        case stats(CheckedContinuation<WriterStats?, Never>)
    }

    private init(directory: String, writer: WriterHandOff) {
        self.directory = directory
        recoveryNotes = writer.writer.recoveryNotes
        writerHealth = writer.writer.health
        queue = WorkerThread(
            name: "hooklog-writer", handle: { jobs in Self.run(jobs, on: writer.writer) },
            finish: { writer.writer.close() })
    }

    /// Why the store has stopped acknowledging appends (a failed `fdatasync` leaves the log's durable
    /// state unknown until a restart re-reads it), or nil while it is healthy.
    public var health: String? { writerHealth.poisoned?.message }

    /// Opens the store in `directory`, creating it if needed, and recovers from any crash: a torn tail is
    /// cut back to the last whole frame and missing or damaged index files are rebuilt.
    ///
    /// - Throws: `StoreError` with code `locked` if another process is writing to the directory, or an
    ///   I/O error naming the file concerned.
    public static func open(directory: String, options: StoreOptions = .init()) throws(StoreError) -> ArchiveStore {
        let writer = try LogWriter(directory: directory, options: options)
        ArchiveIdentity.ensure(directory: directory)
        return ArchiveStore(directory: directory, writer: WriterHandOff(writer: writer))
    }

    /// Moves the writer onto its thread.
    ///
    /// `@unchecked Sendable`: the `LogWriter` is created on the opening thread and, once handed here, is
    /// touched only by the writer thread (`run`, then `close` in the thread's `finish`); `init` reads its
    /// immutable `recoveryNotes` before the thread starts.
    private struct WriterHandOff: @unchecked Sendable {
        let writer: LogWriter
    }

    /// Commits of at most this many bytes may be synced on the writer thread (see
    /// `Syncer.syncInlineIfIdle`); larger ones go to the sync thread, so that the next commit's
    /// compression overlaps their sync (a 50-event batch of the benchmark corpus is about 11 KB of LZ4).
    static let inlineSyncLimit = 8 << 10

    private static func run(_ jobs: [Job], on writer: LogWriter) {
        var appends: [(AppendRequest, CheckedContinuation<AppendResult, any Error>)] = []
        for job in jobs {
            switch job {
            case .append(let request, let continuation): appends.append((request, continuation))
            case .retention(let continuation):
                continuation.resume(
                    with: Result { () throws(StoreError) in try writer.applyRetention(now: currentMicros()) })
            case .stats(let continuation):
                continuation.resume(
                    returning: WriterStats(
                        nextSeq: writer.nextSeq, firstSeq: writer.firstSeq, segmentCount: writer.sealed.count + 1))
            }
        }
        guard !appends.isEmpty else { return }
        let pending = writer.commit(appends.map(\.0))
        var acks: [(CheckedContinuation<AppendResult, any Error>, AppendResult)] = []
        for (result, (_, continuation)) in zip(pending.results, appends) {
            switch result {
            case .failure(let error): continuation.resume(throwing: error)
            case .success(let result): acks.append((continuation, result))
            }
        }
        // Even a request made only of duplicates waits for the syncer: what it duplicates may be in a
        // commit that is written but not yet durable. A small commit (the writer's part was cheap, so
        // there is little to overlap with the sync) is synced here when the sync thread is idle.
        let job = Syncer.Job(files: pending.files, mark: pending.mark, acks: acks)
        if pending.written <= Self.inlineSyncLimit {
            writer.syncer.syncInlineIfIdle(job)
        } else {
            writer.syncer.enqueue(job)
        }
    }

    /// Appends one request's events, whole or not at all, and returns once they are durable.
    ///
    /// Events whose (account, source, id) is already stored, and requests whose body digest was already
    /// stored within their dedupe window, are not stored again: their outcome is `.duplicate`.
    ///
    /// - Throws: `StoreError` — `diskFull` (nothing of the request was stored; retry later), `closed`, `io`.
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        if request.events.isEmpty { return AppendResult(outcomes: []) }
        for event in request.events where event.type.isEmpty {
            throw StoreError(.invalidArgument, "an event has an empty type")
        }
        return try await withCheckedThrowingContinuation { continuation in
            if !queue.enqueue(.append(request, continuation)) {
                continuation.resume(throwing: StoreError(.closed, "the archive at \(directory) is closed"))
            }
        }
    }

    /// Appends events with no request-level dedupe key.
    public func append(_ events: [NewEvent]) async throws -> AppendResult {
        try await append(AppendRequest(events: events))
    }

    /// Deletes the sealed segments that the options' `maxAge`/`maxBytes` no longer keep; returns their
    /// base seqs. Runs on the writer thread between commits. (It also runs after every segment roll.)
    public func applyRetention() async throws -> [UInt64] {
        try await withCheckedThrowingContinuation { continuation in
            if !queue.enqueue(.retention(continuation)) {
                continuation.resume(throwing: StoreError(.closed, "the archive at \(directory) is closed"))
            }
        }
    }

    /// Where the log stands.
    public func stats() async throws -> WriterStats {
        let stats: WriterStats? = await withCheckedContinuation { continuation in
            if !queue.enqueue(.stats(continuation)) { continuation.resume(returning: nil) }
        }
        guard let stats else { throw StoreError(.closed, "the archive at \(directory) is closed") }
        return stats
    }

    /// A reader over this store's directory.
    public func reader() throws(StoreError) -> ArchiveReader {
        try ArchiveReader(directory: directory)
    }

    /// Finishes the queued appends, then releases the directory. Appends after `close` throw `closed`.
    public func close() {
        queue.close()
    }

    deinit { close() }
}

/// A few figures the writer knows without reading anything.
public struct WriterStats: Sendable {
    /// The seq the next stored event will get.
    public var nextSeq: UInt64
    /// The oldest seq still in the archive.
    public var firstSeq: UInt64
    /// Sealed segments plus the active one.
    public var segmentCount: Int
}
