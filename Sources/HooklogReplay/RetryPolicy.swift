import Foundation

/// Which answers are worth another try, and how long to wait before it.
struct RetryPolicy: Sendable {
    var maxAttempts: Int
    var base: Duration
    var cap: Duration

    enum Verdict: Equatable {
        case delivered
        /// Try again (429, 5xx, 408, timeouts, connection failures).
        case retry
        /// Give up now: another 4xx says the consumer will never take it.
        case reject
    }

    static func verdict(status: Int) -> Verdict {
        switch status {
        case 200..<300: .delivered
        case 408, 429, 500...599: .retry
        default: .reject
        }
    }

    /// The wait before try `attempt + 1` (after `attempt` failures): the server's `Retry-After` if it
    /// gave one (capped), else exponential backoff with full jitter.
    func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return max(.zero, min(retryAfter, cap)) }
        // base · 2^(attempt-1), saturating at the cap (no overflow whatever the attempt or the base).
        let exponent = Int64(attempt > 1 ? min(attempt - 1, 62) : 0)
        let (scaled, overflow) = base.nanoseconds.multipliedReportingOverflow(by: 1 << exponent)
        let ceiling = overflow ? cap.nanoseconds : min(scaled, cap.nanoseconds)
        return .nanoseconds(Int64.random(in: 0...max(ceiling, 1)))
    }

    /// `Retry-After` as delay-seconds (digits only; a number too large for `Int64` is as long as it
    /// gets, which the cap then shortens) or as an HTTP date (RFC 9110, 5.6.7: the IMF fixdate, or the
    /// obsolete RFC 850 and asctime forms); nil for anything else, which the backoff then decides.
    static func retryAfter(_ value: String?, nowSeconds: Int64) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            return .seconds(Int64(value) ?? .max)
        }
        for format in ["EEE, dd MMM yyyy HH:mm:ss 'GMT'", "EEEE, dd-MMM-yy HH:mm:ss 'GMT'", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            guard let date = formatter.date(from: value) else { continue }
            let seconds = date.timeIntervalSince1970
            // Far outside any clock (a year 200000): a garbled header, not a wait.
            guard seconds.isFinite, abs(seconds) < 1e13 else { return nil }
            return .seconds(max(0, Int64(seconds) - nowSeconds))
        }
        return nil
    }
}
