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
        if let retryAfter { return min(retryAfter, cap) }
        let exponent = min(attempt - 1, 30)
        let ceiling = min(base * (1 << exponent), cap)
        return .nanoseconds(Int64.random(in: 0...max(ceiling.nanoseconds, 1)))
    }

    /// `Retry-After` as seconds, or as an HTTP date.
    static func retryAfter(_ value: String?, nowSeconds: Int64) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Int64(value) { return .seconds(max(0, seconds)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = formatter.date(from: value) else { return nil }
        return .seconds(max(0, Int64(date.timeIntervalSince1970) - nowSeconds))
    }
}
