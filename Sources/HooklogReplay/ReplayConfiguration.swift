import HooklogStore

/// What a replay sends, where, and how.
public struct ReplayConfiguration: Sendable {
    /// How events become request bodies.
    public enum Shape: String, Sendable, CaseIterable {
        /// A JSON list of up to `batch` original event objects, as Orderspace posts.
        case orderspace
        /// One original event object a request, as O2VEND posts.
        case o2vend
        /// The NDJSON object of one event (`seq`, `received_at`, …, `payload`).
        case envelope
    }

    /// How requests are signed.
    public enum Signing: String, Sendable, CaseIterable {
        /// Not signed.
        case none
        /// `X-Orderspace-Signature: base64(HMAC-SHA256(secret, body))`.
        case orderspace
        /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,…`.
        case standardWebhooks = "standard-webhooks"
        /// `X-Hooklog-Signature: sha256=HEX` (header name configurable).
        case hmacSHA256 = "hmac-sha256"
    }

    /// The webhook URL.
    public var url: String
    /// Which events (ignored with `fromFile`).
    public var filter: EventFilter
    /// A dead-letter file to send again instead of a filter: its events' `seq`s, original bytes from the archive.
    public var fromFile: String?
    /// Body shape.
    public var shape: Shape = .orderspace
    /// Events a request, for the `orderspace` shape (1–50).
    public var batch: Int = 50
    /// Requests in flight at once; also the number of lanes entities are spread over.
    public var concurrency: Int = 8
    /// Requests a second at most; nil for no limit.
    public var rate: Double?
    /// Signature scheme.
    public var signing: Signing = .none
    /// The signing secret.
    public var secret: String?
    /// The header `hmac-sha256` signs in.
    public var signHeader: String = "X-Hooklog-Signature"
    /// Extra headers on every request.
    public var headers: [(String, String)] = []
    /// Tries per request before its events go to the dead-letter file.
    public var maxAttempts: Int = 8
    /// Where undeliverable events go, as NDJSON.
    public var deadLetter: String?
    /// Where progress is kept, so that an interrupted run continues where it stopped.
    public var checkpoint: String?
    /// How long one request may take.
    public var timeout: Duration = .seconds(30)
    /// The first retry's delay; each next one doubles, up to `maxBackoff`, with full jitter.
    public var baseBackoff: Duration = .milliseconds(500)
    /// The longest wait between tries (also caps `Retry-After`).
    public var maxBackoff: Duration = .seconds(60)
    /// Send every request through AsyncHTTPClient, `http://` URLs too (normally those go through the
    /// built-in `PlainHTTPConnection`): a way round a receiver the built-in client does not get along with.
    public var alwaysUseAsyncHTTPClient = false

    /// A replay to `url` of the events matching `filter`.
    public init(url: String, filter: EventFilter) {
        self.url = url
        self.filter = filter
    }

    /// Events a request for this shape.
    var eventsPerRequest: Int { shape == .orderspace ? batch : 1 }

    /// What a checkpoint must match to be resumed: the same destination, events and shape.
    var fingerprint: String {
        let f = filter
        let parts: [String] = [
            url, shape.rawValue, String(eventsPerRequest), fromFile ?? "", f.account ?? "", f.source ?? "", f.type ?? "", f.entity ?? "",
            f.ref ?? "", f.since.map(String.init) ?? "", f.until.map(String.init) ?? "",
            f.contains.map { String(decoding: $0, as: UTF8.self) } ?? "",
        ]
        return parts.joined(separator: "\u{1F}")
    }
}
