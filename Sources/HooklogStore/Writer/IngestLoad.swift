import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How busy appending is (events committed in the last whole second and the one running), so that
/// background work yields the CPU to ingest.
///
/// Why: LZ4HC recompression of sealed segments runs at low priority (now the idle scheduling class, then
/// nice 10), but a server whose HTTP path waits on the network between requests leaves gaps that
/// priority does not protect: under the ingest benchmark's 50-event batches the recompression thread
/// (at nice 10) took 0.37 of the machine's 2 cores while ingest was running flat out. While ingest is
/// busy, sealed segments now stay fast LZ4 (valid, 28 % larger) and are recompressed once it is quiet,
/// as segments left by a backlog always were (one already under way finishes: it holds retention back
/// while it runs).
final class IngestLoad: Sendable {
    /// Events per second at or above which ingest counts as busy; nil: never (background work runs
    /// as soon as it is queued).
    let busyAbove: Int?
    private struct Windows {
        var second: Int64 = 0
        var current = 0
        var previous = 0
    }
    private let windows = Mutex(Windows())
    /// Set when the store closes: queued work must then finish (or be dropped) without waiting.
    private let closing = Atomic<Bool>(false)

    init(busyAbove: Int?) {
        self.busyAbove = busyAbove
    }

    /// Events counted while the windows' lock was held elsewhere, for the next `record`.
    private let unrecorded = Atomic<Int>(0)

    /// Counts `events` committed now (µs since the epoch).
    ///
    /// The writer calls this in every commit, so it never waits for the lock: the threads that ask
    /// `isBusy` run in the idle scheduling class, and one preempted while holding it could be kept off
    /// the CPU as long as the machine is busy. Events it could not count then are counted next time.
    func record(_ events: Int, now: Int64) {
        guard busyAbove != nil else { return }
        let second = now / 1_000_000
        let counted: Void? = windows.withLockIfAvailable { w in
            if second != w.second {
                w.previous = second == w.second + 1 ? w.current : 0
                w.current = 0
                w.second = second
            }
            w.current += events + unrecorded.exchange(0, ordering: .relaxed)
        }
        if counted == nil { unrecorded.add(events, ordering: .relaxed) }
    }

    /// Whether ingest is busy now (and the store is not closing).
    func isBusy(now: Int64) -> Bool {
        guard let busyAbove, !closing.load(ordering: .relaxed) else { return false }
        let second = now / 1_000_000
        return windows.withLock { w in
            if second == w.second { return max(w.current, w.previous) >= busyAbove }
            if second == w.second + 1 { return w.current >= busyAbove }
            return false
        }
    }

    /// Waits, in steps of `step` milliseconds, while ingest is busy.
    func waitWhileBusy(step: Int) {
        while isBusy(now: currentMicros()) { _ = usleep(useconds_t(step * 1000)) }
    }

    /// The store is closing: nothing waits for quiet any more.
    func close() { closing.store(true, ordering: .relaxed) }
}
