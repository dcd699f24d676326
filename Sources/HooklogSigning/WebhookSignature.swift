/// How a webhook delivery proves it comes from the holder of a shared secret, and how replay signs what
/// it sends the same way.
///
/// Verification answers only yes or no: a refused delivery gets a `401` that says nothing more, so
/// a caller cannot learn which part was wrong.
public enum WebhookSignature: Sendable, Hashable, Codable {
    /// No signature is checked.
    case none
    /// `HEADER: HEX` (an optional `sha256=` prefix allowed), HMAC-SHA256 of the raw body.
    case hmacHex(header: String)
    /// `HEADER: BASE64`, HMAC-SHA256 of the raw body (Orderspace's `X-Orderspace-Signature`).
    case hmacBase64(header: String)
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,BASE64` over
    /// `id.timestamp.body`, with a `whsec_` secret.
    case standardWebhooks
    /// Stripe: `Stripe-Signature: t=…,v1=HEX` over `t.body`.
    case stripe

    /// Orderspace's scheme.
    public static let orderspace = WebhookSignature.hmacBase64(header: "X-Orderspace-Signature")

    /// Parses the `--verify` forms: `none`, `hmac-sha256-hex:HEADER`, `hmac-sha256-base64:HEADER`,
    /// `standard-webhooks`, `stripe`.
    public init?(argument: String) {
        switch argument {
        case "none": self = .none
        case "standard-webhooks": self = .standardWebhooks
        case "stripe": self = .stripe
        default:
            let parts = argument.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty, !parts[1].contains(" ") else { return nil }
            switch parts[0] {
            case "hmac-sha256-hex": self = .hmacHex(header: parts[1])
            case "hmac-sha256-base64": self = .hmacBase64(header: parts[1])
            default: return nil
            }
        }
    }

    /// The `--verify` form of this scheme.
    public var argument: String {
        switch self {
        case .none: "none"
        case .hmacHex(let h): "hmac-sha256-hex:\(h)"
        case .hmacBase64(let h): "hmac-sha256-base64:\(h)"
        case .standardWebhooks: "standard-webhooks"
        case .stripe: "stripe"
        }
    }

    /// Whether a delivery is signed with `secret`.
    ///
    /// - Parameters:
    ///   - header: looks a request header up by name, case-insensitively.
    ///   - nowSeconds: the current Unix time, for the schemes with a timestamp.
    ///   - tolerance: how far a signed timestamp may be from now, either way.
    public func verify(
        secret: String, body: [UInt8], header: (String) -> String?, nowSeconds: Int64, tolerance: Int64
    ) -> Bool {
        let key = Array(secret.utf8)
        switch self {
        case .none:
            return true
        case .hmacHex(let name):
            guard var value = header(name)?.trimmingSpaces() else { return false }
            if value.hasPrefix("sha256=") { value.removeFirst(7) }
            guard let given = Encoding.unhex(value) else { return false }
            return ConstantTime.equal(given, HMACSHA256.mac(key: key, body))
        case .hmacBase64(let name):
            guard let value = header(name)?.trimmingSpaces(), let given = Encoding.unbase64(value) else { return false }
            return ConstantTime.equal(given, HMACSHA256.mac(key: key, body))
        case .standardWebhooks:
            guard let id = header("webhook-id"), let ts = header("webhook-timestamp"),
                let signatures = header("webhook-signature")
            else { return false }
            return StandardWebhooks.verify(
                secret: secret, id: id, timestamp: ts, signatures: signatures, body: body, nowSeconds: nowSeconds,
                tolerance: tolerance)
        case .stripe:
            guard let value = header("Stripe-Signature") else { return false }
            return StripeSignature.verify(
                secret: secret, header: value, body: body, nowSeconds: nowSeconds, tolerance: tolerance)
        }
    }
}

/// The Standard Webhooks scheme (standardwebhooks.com).
public enum StandardWebhooks {
    /// The HMAC key of a secret: the base64 after `whsec_`; a secret that is not base64 is used as it is.
    public static func key(secret: String) -> [UInt8] {
        let text = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        return Encoding.unbase64(text) ?? Array(secret.utf8)
    }

    /// The `webhook-signature` value: `v1,BASE64`.
    public static func sign(secret: String, id: String, timestamp: Int64, body: [UInt8]) -> String {
        let mac = HMACSHA256.mac(key: key(secret: secret), Array("\(id).\(timestamp).".utf8), body)
        return "v1," + Encoding.base64(mac)
    }

    /// Whether any `v1,` signature in the space-separated list matches, and the timestamp is within
    /// `tolerance` seconds of now.
    public static func verify(
        secret: String, id: String, timestamp: String, signatures: String, body: [UInt8], nowSeconds: Int64,
        tolerance: Int64
    ) -> Bool {
        guard let t = Int64(timestamp.trimmingSpaces()),
            Freshness.holds(timestamp: t, now: nowSeconds, tolerance: tolerance)
        else { return false }
        let expected = HMACSHA256.mac(key: key(secret: secret), Array("\(id).\(t).".utf8), body)
        var matched = false
        for entry in signatures.split(separator: " ") where entry.hasPrefix("v1,") {
            if let given = Encoding.unbase64(entry.dropFirst(3)), ConstantTime.equal(given, expected) { matched = true }
        }
        return matched
    }
}

/// Stripe's scheme: the whole secret (`whsec_…`) is the HMAC key.
public enum StripeSignature {
    /// The `Stripe-Signature` value: `t=TIMESTAMP,v1=HEX`.
    public static func sign(secret: String, timestamp: Int64, body: [UInt8]) -> String {
        let mac = HMACSHA256.mac(key: Array(secret.utf8), Array("\(timestamp).".utf8), body)
        return "t=\(timestamp),v1=" + Encoding.hex(mac)
    }

    /// Whether one of the header's `v1` signatures matches and its `t` is within `tolerance` seconds of now.
    public static func verify(
        secret: String, header: String, body: [UInt8], nowSeconds: Int64, tolerance: Int64
    ) -> Bool {
        var timestamp: Int64?
        var given: [[UInt8]] = []
        for item in header.split(separator: ",") {
            let pair = item.trimmingSpaces().split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1", let mac = Encoding.unhex(pair[1]) { given.append(mac) }
        }
        guard let timestamp, Freshness.holds(timestamp: timestamp, now: nowSeconds, tolerance: tolerance) else {
            return false
        }
        let expected = HMACSHA256.mac(key: Array(secret.utf8), Array("\(timestamp).".utf8), body)
        var matched = false
        for mac in given where ConstantTime.equal(mac, expected) { matched = true }
        return matched
    }
}

/// The timestamp check of the schemes that sign a time (Standard Webhooks, Stripe).
public enum Freshness {
    /// Whether `timestamp` is at most `tolerance` seconds from `now`, either way.
    ///
    /// The timestamp comes from a request header, so it may be any `Int64`: `now - timestamp` is computed
    /// with overflow reported (an overflowing distance is beyond any tolerance), and its magnitude is taken
    /// as a `UInt64` (`abs(Int64.min)` traps). A negative tolerance accepts nothing.
    public static func holds(timestamp: Int64, now: Int64, tolerance: Int64) -> Bool {
        let (distance, overflow) = now.subtractingReportingOverflow(timestamp)
        guard !overflow, tolerance >= 0 else { return false }
        return distance.magnitude <= UInt64(tolerance)
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
