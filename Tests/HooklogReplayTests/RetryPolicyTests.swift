import Foundation
import Testing

@testable import HooklogReplay

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 8, base: .milliseconds(500), cap: .seconds(60))

    @Test func twoHundredsAreDeliveredRetryableFailuresRetriedOtherFourHundredsRejected() {
        for status in [200, 201, 202, 204, 299] {
            #expect(RetryPolicy.verdict(status: status) == .delivered, "\(status)")
        }
        for status in [408, 429, 500, 502, 503, 504, 599] {
            #expect(RetryPolicy.verdict(status: status) == .retry, "\(status)")
        }
        // A redirect is not followed (a POST would become a GET) and a 4xx other than 408/429 says the
        // consumer will never take the request: neither is retried.
        for status in [100, 301, 302, 304, 400, 401, 403, 404, 409, 410, 413, 422, 600] {
            #expect(RetryPolicy.verdict(status: status) == .reject, "\(status)")
        }
    }

    @Test func backoffDoublesFromTheBaseWithFullJitterUpToTheCap() {
        for attempt in 1...12 {
            let ceiling = min(Duration.milliseconds(500) * (1 << (attempt - 1)), .seconds(60))
            var lowHalf = false, highHalf = false
            for _ in 0..<400 {
                let d = policy.delay(afterAttempt: attempt, retryAfter: nil)
                #expect(d >= .zero && d <= ceiling, "attempt \(attempt): \(d) outside 0...\(ceiling)")
                if d < ceiling / 2 { lowHalf = true } else { highHalf = true }
            }
            // Full jitter: the waits spread over the whole range, not bunched at the ceiling.
            #expect(lowHalf && highHalf, "attempt \(attempt)")
        }
    }

    @Test func backoffNeverOverflowsWhateverTheAttemptOrTheBase() {
        for attempt in [0, -5, 40, 63, 64, 1000, Int.max, Int.min] {
            let d = policy.delay(afterAttempt: attempt, retryAfter: nil)
            #expect(d >= .zero && d <= .seconds(60), "attempt \(attempt)")
        }
        let huge = RetryPolicy(maxAttempts: 3, base: .seconds(Int64.max / 4), cap: .seconds(5))
        #expect(huge.delay(afterAttempt: 40, retryAfter: nil) <= .seconds(5))
    }

    @Test func retryAfterInSecondsIsHonouredUpToTheCap() {
        #expect(RetryPolicy.retryAfter("0", nowSeconds: 0) == .zero)
        #expect(RetryPolicy.retryAfter(" 7 ", nowSeconds: 0) == .seconds(7))
        #expect(policy.delay(afterAttempt: 3, retryAfter: .seconds(7)) == .seconds(7))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(3600)) == .seconds(60))
        // Too large for any integer type: the longest wait there is, then the cap. No trap.
        let enormous = RetryPolicy.retryAfter("99999999999999999999", nowSeconds: 0)
        #expect(enormous != nil)
        #expect(policy.delay(afterAttempt: 1, retryAfter: enormous) == .seconds(60))
        #expect(RetryPolicy.retryAfter("9223372036854775807", nowSeconds: 0) == .seconds(Int64.max))
    }

    @Test func retryAfterAsAnHTTPDateIsTheTimeLeftUntilThen() {
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
        let now: Int64 = 784_111_777 - 90
        #expect(RetryPolicy.retryAfter("Sun, 06 Nov 1994 08:49:37 GMT", nowSeconds: now) == .seconds(90))
        #expect(RetryPolicy.retryAfter("Sunday, 06-Nov-94 08:49:37 GMT", nowSeconds: now) == .seconds(90))
        #expect(RetryPolicy.retryAfter("Sun Nov  6 08:49:37 1994", nowSeconds: now) == .seconds(90))
        #expect(
            RetryPolicy.retryAfter("Sun, 06 Nov 1994 08:49:37 GMT", nowSeconds: now + 1000) == .zero,
            "a date past: no wait")
    }

    @Test func aRetryAfterThatIsNeitherIsIgnored() {
        for value in [nil, "", "  ", "soon", "-5", "+5", "1.5", "5 s", "Sun, 06 Nov 1994", "0x10", "١٢"] {
            #expect(RetryPolicy.retryAfter(value, nowSeconds: 0) == nil, "\(value ?? "nil")")
        }
    }
}
