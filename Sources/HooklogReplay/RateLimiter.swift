import Synchronization

/// A token bucket shared by every lane: `rate` requests a second on average, bursts of at most one
/// second's worth.
final class RateLimiter: Sendable {
    private let interval: Duration
    private let burst: Duration
    private let next: Mutex<ContinuousClock.Instant>

    /// A limiter whose first turn is at `start`.
    init(perSecond rate: Double, start: ContinuousClock.Instant = .now) {
        // Saturated, not trapping: `--rate 1e-20` is one request every 285 years, not a crash.
        let nanoseconds = 1e9 / rate
        interval = .nanoseconds(nanoseconds >= 0 && nanoseconds < 9e18 ? Int64(nanoseconds) : 9_000_000_000_000_000_000)
        burst = .seconds(1)
        next = Mutex(start)
    }

    /// Waits for this request's turn.
    func acquire() async throws {
        let now = ContinuousClock.now
        let slot = reserve(at: now)
        if slot > now { try await Task.sleep(until: slot, clock: .continuous) }
    }

    /// Takes the turn of a request asking at `now`, and returns when that turn is.
    func reserve(at now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        next.withLock { n in
            // Unused time accumulates up to one second's worth of requests, and at least one: the bucket
            // holds max(1, rate · 1 s) turns, so a rate under one a second still sends its first at once.
            let start = max(n, now - max(burst - interval, .zero))
            n = start + interval
            return start
        }
    }
}
