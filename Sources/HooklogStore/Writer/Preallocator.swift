import Foundation
import Synchronization

/// Writes the zeros ahead of the active segment's last frame on a thread of its own, so that no commit
/// waits for them.
///
/// The writer appends into space already written with zeros (see `LogWriter.allocatedLength`: an
/// `fdatasync` then need not journal a new file size). Writing the next 4 MB of zeros and syncing them in
/// the commit path held every append behind it for 10–20 ms once per 4 MB of log: the tail of ack
/// latency. Here the next chunk is written while half of the current one is still free, and the writer
/// only takes the result.
///
/// Used by the writer thread only: `start`, `take`, `wait` and `close` are not called concurrently with
/// each other. A chunk lies beyond every byte the writer may write until it has taken it, so the two
/// threads never write the same range of the file; and the writer waits for a chunk in flight before it
/// cuts the file (roll, roll-back, close), so zeros are never written past a cut.
final class Preallocator: Sendable {
    private struct Job: Sendable {
        let file: RawFile
        let from: UInt64
        let to: UInt64
        let done: DispatchSemaphore
    }

    private struct State {
        /// The chunk being written, if any (its semaphore is signalled once it is done).
        var inFlight: DispatchSemaphore?
        /// The last chunk done: zeros are durable in that file up to `through` (nil if it failed).
        var done: (file: ObjectIdentifier, through: UInt64)?
    }

    /// Shared with the thread (a class, because a `Mutex` cannot be captured by copy).
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    private let worker: WorkerThread<Job>

    init() {
        let shared = self.shared
        worker = WorkerThread(name: "hooklog-zeros") { jobs in
            for job in jobs {
                var done: (file: ObjectIdentifier, through: UInt64)? = nil
                if (try? Self.zeros(job.file, from: job.from, to: job.to)) != nil {
                    done = (ObjectIdentifier(job.file), job.to)
                }
                shared.state.withLock {
                    $0.done = done
                    $0.inFlight = nil
                }
                job.done.signal()
            }
        }
    }

    /// Writes zeros over `from..<to` of `file`, then syncs them; on failure (a full disk, most likely)
    /// cuts them off again. Written back a quarter MB at a time (`writeZerosInPieces`): the next commit's
    /// sync would otherwise carry up to 4 MB of these zeros (ms of every acknowledgement waiting on it).
    /// The pages stay cached, clean, for the writer's appends.
    ///
    /// Through a descriptor of its own: Linux reports a write-back error once to each open file, so a
    /// sync of the log's descriptor here could take the error that belongs to a commit, which the log's
    /// own sync would then report as durable. On this descriptor it reaches both.
    static func zeros(_ file: RawFile, from: UInt64, to: UInt64) throws(StoreError) {
        let own = try RawFile(path: file.path, flags: O_WRONLY)
        do {
            try own.writeZerosInPieces(from: from, to: to)
            try own.syncData()
        } catch {
            try? own.truncate(to: from)
            throw error
        }
    }

    /// Whether a chunk is being written.
    var isBusy: Bool { shared.state.withLock { $0.inFlight != nil } }

    /// Starts writing zeros over `from..<to` of `file` in the background (nothing if a chunk is in flight).
    func start(_ file: RawFile, from: UInt64, to: UInt64) {
        let done = DispatchSemaphore(value: 0)
        let started = shared.state.withLock { s in
            guard s.inFlight == nil else { return false }
            s.inFlight = done
            return true
        }
        guard started else { return }
        if !worker.enqueue(Job(file: file, from: from, to: to, done: done)) {
            shared.state.withLock { $0.inFlight = nil }
        }
    }

    /// How far zeros are durable in `file` from a finished chunk (and forgets it), if any.
    func take(for file: RawFile) -> UInt64? {
        shared.state.withLock { s in
            guard s.inFlight == nil, let done = s.done, done.file == ObjectIdentifier(file) else { return nil }
            s.done = nil
            return done.through
        }
    }

    /// Waits for the chunk in flight, if any.
    func wait() {
        shared.state.withLock { $0.inFlight }?.wait()
    }

    /// Waits for the chunk in flight and stops the thread.
    func close() {
        wait()
        worker.close()
    }
}
