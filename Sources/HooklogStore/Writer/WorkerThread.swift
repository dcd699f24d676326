import Foundation
import Synchronization

/// A dedicated thread that drains a queue of jobs: whatever was enqueued while it worked is handed to
/// it in one batch, which is what makes group commit (and grouped syncs) happen without any timer.
///
/// Blocking file I/O runs here, never on the cooperative pool or an event loop.
final class WorkerThread<Job: Sendable>: Sendable {
    private struct State {
        var jobs: [Job] = []
        var closed = false
    }

    /// What the thread and the enqueuers share (a class, because a `Mutex` cannot be captured by copy).
    private final class Shared: Sendable {
        let state = Mutex(State())
        let wake = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
    }

    private let shared = Shared()

    /// Starts the thread; `handle` gets each batch of jobs in order, then `finish` runs once after close.
    init(name: String, handle: @escaping @Sendable ([Job]) -> Void, finish: @escaping @Sendable () -> Void = {}) {
        let thread = Thread { [shared] in
            while true {
                let (jobs, closed) = shared.state.withLock { s in
                    let jobs = s.jobs
                    s.jobs.removeAll()
                    return (jobs, s.closed)
                }
                if !jobs.isEmpty {
                    handle(jobs)
                    continue
                }
                if closed { break }
                shared.wake.wait()
            }
            finish()
            shared.finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Queues a job; false once the thread is closing.
    @discardableResult
    func enqueue(_ job: Job) -> Bool {
        let accepted = shared.state.withLock { s in
            guard !s.closed else { return false }
            s.jobs.append(job)
            return true
        }
        if accepted { shared.wake.signal() }
        return accepted
    }

    /// Lets the queued jobs finish, then stops the thread and waits for it.
    func close() {
        let first = shared.state.withLock { s in
            defer { s.closed = true }
            return !s.closed
        }
        guard first else { return }
        shared.wake.signal()
        shared.finished.wait()
    }
}
