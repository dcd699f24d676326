import CThread
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
        /// Whether the thread took jobs and may still be handling them (cleared when it next finds
        /// the queue empty).
        var handling = false
    }

    /// What the thread and the enqueuers share (a class, because a `Mutex` cannot be captured by copy).
    private final class Shared: Sendable {
        let state = Mutex(State())
        let wake = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
    }

    private let shared = Shared()

    /// Starts the thread; `handle` gets each batch of jobs in order, then `finish` runs once after close.
    ///
    /// - Parameters:
    ///   - name: the thread's name as `top -H` and `perf` show it (at most 15 bytes on Linux).
    ///   - niceness: above 0 for background work that must yield the CPU to ingest and queries.
    ///   - gathering: how long the thread waits, once woken, before it takes the jobs queued: for work
    ///     that may lag (the index thread's), so that one wake-up handles many jobs. At 9k 1-event
    ///     requests a second the index thread was woken 4k times a second, for a few microseconds of
    ///     work each, every wake-up a context switch on the cores the requests need.
    ///   - idle: the idle scheduling class (Linux `SCHED_IDLE`), for background work that must not take
    ///     the CPU from ingest even for a moment; it runs only when no other thread wants it.
    init(
        name: String, niceness: Int32 = 0, gathering: Duration? = nil, idle: Bool = false,
        handle: @escaping @Sendable ([Job]) -> Void,
        finish: @escaping @Sendable () -> Void = {}
    ) {
        let gatherMicros =
            gathering.map {
                useconds_t($0.components.seconds * 1_000_000 + $0.components.attoseconds / 1_000_000_000_000)
            } ?? 0
        let thread = Thread { [shared] in
            // Foundation's `Thread.name` does not reach the kernel here: name it from inside.
            hooklog_thread_set_name(name)
            if niceness != 0 { _ = hooklog_thread_set_niceness(niceness) }
            if idle { _ = hooklog_thread_set_idle_class() }
            while true {
                let (jobs, closed) = shared.state.withLock { s in
                    let jobs = s.jobs
                    s.jobs.removeAll()
                    s.handling = !jobs.isEmpty
                    return (jobs, s.closed)
                }
                if !jobs.isEmpty {
                    handle(jobs)
                    continue
                }
                if closed { break }
                shared.wake.wait()
                // Not when woken to close (the queue is taken at once, so close does not wait for it).
                if gatherMicros > 0 && !shared.state.withLock({ $0.closed }) { usleep(gatherMicros) }
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
        // Signalled only when the queue was empty: the thread is then waiting, or about to take the queue
        // and find this job (so a wake-up is never lost); otherwise it takes this job with the others.
        let (accepted, wasEmpty) = shared.state.withLock { s in
            guard !s.closed else { return (false, false) }
            s.jobs.append(job)
            return (true, s.jobs.count == 1)
        }
        if wasEmpty { shared.wake.signal() }
        return accepted
    }

    /// How many jobs wait (not counting the batch being handled).
    var backlog: Int { shared.state.withLock { $0.jobs.count } }

    /// Whether nothing is queued and the thread is not handling anything (it may be about to find
    /// that out: then this says false).
    var isIdle: Bool { shared.state.withLock { $0.jobs.isEmpty && !$0.handling && !$0.closed } }

    /// Dropped without `close` (an owner whose init threw after starting it): the thread finishes what
    /// is queued and stops, instead of waiting forever for jobs no one can send. fuzz-segment found
    /// writer threads piling up (four a failed open) until the process ran out of mappings.
    deinit {
        let open = shared.state.withLock { s in
            defer { s.closed = true }
            return !s.closed
        }
        if open { shared.wake.signal() }
    }

    /// Lets the queued jobs finish (or drops them, with `discardingPending`), then stops the thread and
    /// waits for it.
    func close(discardingPending: Bool = false) {
        let first = shared.state.withLock { s in
            defer { s.closed = true }
            if discardingPending { s.jobs.removeAll() }
            return !s.closed
        }
        guard first else { return }
        shared.wake.signal()
        shared.finished.wait()
    }
}
