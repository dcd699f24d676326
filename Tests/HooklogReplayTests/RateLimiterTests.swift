import Foundation
import Testing

@testable import HooklogReplay

@Suite struct RateLimiterTests {
    @Test func requestsArePacedAtTheRate() async throws {
        let limiter = RateLimiter(perSecond: 20)
        let started = ContinuousClock.now
        for _ in 0..<11 { try await limiter.acquire() }
        let elapsed = ContinuousClock.now - started
        // 11 requests at 20/s: the first at once, then one every 50 ms.
        #expect(elapsed >= .milliseconds(480), "\(elapsed)")
        #expect(elapsed < .seconds(2), "\(elapsed)")
    }

    @Test func idleTimeBuysABurstOfAtMostOneSecondsWorth() async throws {
        let limiter = RateLimiter(perSecond: 20)
        try await Task.sleep(for: .milliseconds(1500))
        let started = ContinuousClock.now
        for _ in 0..<20 { try await limiter.acquire() }
        #expect(ContinuousClock.now - started < .milliseconds(300), "a second's worth (20) goes at once after a pause")
        let more = ContinuousClock.now
        for _ in 0..<4 { try await limiter.acquire() }
        #expect(ContinuousClock.now - more >= .milliseconds(150), "then the pace again: the unused half second is not kept")
    }

    @Test func lanesSharingALimiterShareTheRate() async throws {
        let limiter = RateLimiter(perSecond: 40)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { for _ in 0..<6 { try await limiter.acquire() } }
            }
            try await group.waitForAll()
        }
        // 24 requests at 40/s over four lanes: 23 intervals of 25 ms.
        #expect(ContinuousClock.now - started >= .milliseconds(550))
    }

    @Test func extremeRatesNeitherTrapNorBlockAFastRun() async throws {
        _ = RateLimiter(perSecond: 1e-20)  // an interval beyond Int64 nanoseconds: saturated
        _ = RateLimiter(perSecond: .leastNonzeroMagnitude)
        let fast = RateLimiter(perSecond: 1e300)
        let started = ContinuousClock.now
        for _ in 0..<1000 { try await fast.acquire() }
        #expect(ContinuousClock.now - started < .seconds(1))
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

extension RateLimiterTests {
    @Test func aRateUnderOneASecondSendsItsFirstRequestAtOnce() async throws {
        let limiter = RateLimiter(perSecond: 0.5)
        let started = ContinuousClock.now
        try await limiter.acquire()
        #expect(ContinuousClock.now - started < .milliseconds(200))
    }
}
