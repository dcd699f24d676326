import Foundation
import Testing

@testable import HooklogReplay

/// Turns are checked on a clock the test sets (`reserve(at:)`), so that they hold on a loaded machine;
/// `acquire` is checked for what it adds: it waits at least until the turn.
@Suite struct RateLimiterTests {
    let t0 = ContinuousClock.now

    @Test func turnsArePacedAtTheRate() {
        let limiter = RateLimiter(perSecond: 20, start: t0)
        for i in 0..<11 {
            #expect(limiter.reserve(at: t0) == t0 + .milliseconds(50) * i, "turn \(i)")
        }
        // Asking later than its turn: the turn is when it asks, not earlier.
        let late = RateLimiter(perSecond: 20, start: t0)
        #expect(late.reserve(at: t0 + .milliseconds(10)) == t0)
        #expect(late.reserve(at: t0 + .milliseconds(500)) == t0 + .milliseconds(50))
    }

    @Test func idleTimeBuysABurstOfAtMostOneSecondsWorth() {
        let limiter = RateLimiter(perSecond: 20, start: t0)
        let later = t0 + .seconds(5)
        let turns = (0..<24).map { _ in limiter.reserve(at: later) }
        #expect(turns.prefix(20).allSatisfy { $0 <= later }, "a second's worth (20) goes at once after a pause")
        #expect(
            turns[20] == later + .milliseconds(50) && turns[23] == later + .milliseconds(200), "then the pace again")
    }

    @Test func aRateUnderOneASecondHasItsFirstTurnAtOnce() {
        let limiter = RateLimiter(perSecond: 0.5, start: t0)
        let later = t0 + .seconds(60)
        #expect(limiter.reserve(at: later) == later)
        #expect(limiter.reserve(at: later) == later + .seconds(2))
    }

    @Test func extremeRatesNeitherTrapNorOverflow() {
        for rate in [1e-20, .leastNonzeroMagnitude, 0, -1, .nan, .infinity, 1e300] {
            let limiter = RateLimiter(perSecond: rate, start: t0)
            _ = limiter.reserve(at: t0)
            _ = limiter.reserve(at: t0)
        }
        let fast = RateLimiter(perSecond: 1e300, start: t0)
        #expect((0..<1000).allSatisfy { _ in fast.reserve(at: t0) == t0 })
    }

    @Test func acquireWaitsForTheTurnAndLanesShareTheRate() async throws {
        let limiter = RateLimiter(perSecond: 40)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { for _ in 0..<6 { try await limiter.acquire() } }
            }
            try await group.waitForAll()
        }
        // 24 requests at 40/s over four lanes: 23 intervals of 25 ms.
        #expect(ContinuousClock.now - started >= .milliseconds(570))
    }

    @Test func aCancelledWaitThrows() async throws {
        let limiter = RateLimiter(perSecond: 0.1)
        try await limiter.acquire()
        let waiting = Task { try await limiter.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }
}
