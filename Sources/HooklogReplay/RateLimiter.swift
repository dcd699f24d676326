import Synchronization

/// A token bucket shared by every lane: `rate` requests a second on average, bursts of at most one
/// second's worth.
final class RateLimiter: Sendable {
    private let interval: Duration
    private let burst: Duration
    private let next: Mutex<ContinuousClock.Instant>

    init(perSecond rate: Double) {
        interval = .nanoseconds(Int64(1e9 / rate))
        burst = .seconds(1)
        next = Mutex(ContinuousClock.now)
    }

    /// Waits for this request's turn.
    func acquire() async throws {
        let now = ContinuousClock.now
        let slot: ContinuousClock.Instant = next.withLock { n in
            // Unused time accumulates up to one second of burst, no more.
            let start = max(n, now - burst + interval)
            n = start + interval
            return start
        }
        if slot > now { try await Task.sleep(until: slot, clock: .continuous) }
    }
}
