import HooklogSigning
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
    /// `--since` and `--until` as written (`30d`, an RFC 3339 time), for the checkpoint's fingerprint;
    /// `filter` holds them resolved. Nil: the resolved value stands for itself.
    public var sinceText: String?
    public var untilText: String?
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

    /// What makes this configuration unusable, in one line naming the flag; nil if nothing does.
    public var problem: String? {
        if signing == .standardWebhooks, let secret, secret.hasPrefix("whsec_") {
            // A whsec_ secret is base64; a typo in it must not quietly sign with the text itself, which
            // the receiver would refuse for every event.
            guard Self.isBase64(secret.utf8.dropFirst(6)), let key = Encoding.unbase64(secret.dropFirst(6)),
                !key.isEmpty
            else {
                return "--secret: what follows whsec_ is not base64; copy the whole secret as the receiver shows it"
            }
        }
        let signatureHeaders: [String] =
            switch signing {
            case .none: []
            case .orderspace: ["X-Orderspace-Signature"]
            case .hmacSHA256: [signHeader]
            case .standardWebhooks: ["webhook-id", "webhook-timestamp", "webhook-signature"]
            }
        for name in signatureHeaders {
            if headers.contains(where: { $0.0.lowercased() == name.lowercased() }) {
                return
                    "--header '\(name)' is the header --sign \(signing.rawValue) writes; drop the --header (or --sign none)"
            }
        }
        return nil
    }

    /// Whether `text` is standard base64: its alphabet, then at most two `=` that pad it to a multiple
    /// of four (or none). Checked here because Foundation's decoder lets some malformed text through.
    static func isBase64(_ text: some Collection<UInt8>) -> Bool {
        let body = text.prefix { $0 != UInt8(ascii: "=") }
        let padding = text.count - body.count
        guard !body.isEmpty, padding <= 2, body.count % 4 != 1, padding == 0 || text.count % 4 == 0 else {
            return false
        }
        return body.allSatisfy { c in
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "+"), UInt8(ascii: "/"):
                true
            default: false
            }
        } && text.dropFirst(body.count).allSatisfy { $0 == UInt8(ascii: "=") }
    }

    /// Events a request for this shape.
    var eventsPerRequest: Int { shape == .orderspace ? batch : 1 }

    /// What a checkpoint must match to be resumed: the same destination, events and shape, with the
    /// time flags as written (`--since 30d` is the same replay tomorrow; its resolution is kept in the
    /// checkpoint, not here).
    var fingerprint: String {
        fingerprintParts(
            since: sinceText ?? filter.since.map(String.init) ?? "",
            until: untilText ?? filter.until.map(String.init) ?? ""
        )
        .joined(separator: "\u{1F}")
    }

    private func fingerprintParts(since: String, until: String) -> [String] {
        let f = filter
        return [
            url, shape.rawValue, String(eventsPerRequest), fromFile ?? "", f.account ?? "", f.source ?? "",
            f.type ?? "", f.entity ?? "",
            f.ref ?? "", since, until, f.contains.map { String(decoding: $0, as: UTF8.self) } ?? "",
        ]
    }

    /// The window a version 1 checkpoint (whose fingerprint holds the resolved times) resumes with, or nil
    /// if it belongs to another replay. A relative bound (`30d`) takes the time the first run resolved,
    /// which this replay's own resolution never matched; an absolute one must be the same time.
    func windowOfVersion1Checkpoint(fingerprint stored: String) -> Ledger.Window? {
        let parts = stored.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        let mine = fingerprintParts(since: "", until: "")
        guard parts.count == mine.count else { return nil }
        for i in parts.indices where i != 9 && i != 10 {
            guard parts[i] == mine[i] else { return nil }
        }
        func bound(_ stored: String, _ text: String?, _ resolved: Int64?) -> Int64?? {
            if stored.isEmpty { return resolved == nil ? .some(nil) : nil }
            guard let value = Int64(stored), let resolved else { return nil }
            if value == resolved { return .some(value) }
            let relative = text.map { RFC3339.parseDuration($0) != nil } ?? false
            return relative ? .some(value) : nil
        }
        guard let since = bound(parts[9], sinceText, filter.since),
            let until = bound(parts[10], untilText, filter.until)
        else {
            return nil
        }
        return Ledger.Window(since: since, until: until)
    }
}
