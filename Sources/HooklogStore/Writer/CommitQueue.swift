import Foundation
import Synchronization

/// Hands appends from any task to the writer thread and answers them after the group commit.
///
/// Appenders enqueue under a mutex and signal a semaphore; the writer thread wakes, takes *everything*
/// queued — that is the group commit: however many batches arrived during the previous `fdatasync` share
/// the next one — and resumes each continuation with its own result.
final class CommitQueue: Sendable {
    enum Job: Sendable {
        case append(AppendRequest, CheckedContinuation<AppendResult, any Error>)
        case retention(CheckedContinuation<[UInt64], any Error>)
        case stats(CheckedContinuation<WriterStats?, Never>)
    }

    private struct State {
        var jobs: [Job] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    /// Queues a job; false if the queue is closed.
    func enqueue(_ job: Job) -> Bool {
        let accepted = state.withLock { s in
            guard !s.closed else { return false }
            s.jobs.append(job)
            return true
        }
        if accepted { wake.signal() }
        return accepted
    }

    /// Blocks until jobs are queued or the queue closes; returns nil once closed and drained.
    func next() -> [Job]? {
        while true {
            let (jobs, closed) = state.withLock { s in
                let jobs = s.jobs
                s.jobs.removeAll()
                return (jobs, s.closed)
            }
            if !jobs.isEmpty { return jobs }
            if closed { return nil }
            wake.wait()
        }
    }

    func close() {
        state.withLock { $0.closed = true }
        wake.signal()
    }
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
