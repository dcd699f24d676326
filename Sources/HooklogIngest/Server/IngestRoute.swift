/// Which door a delivery came in by; it decides how the body is read and how the sender is checked.
public enum IngestRoute: Sendable, Hashable {
    /// `POST /v1/orderspace/{token}`
    case orderspace
    /// `POST /v1/o2vend/{token}`
    case o2vend
    /// `POST /v1/hooks/{source}/{token}`
    case generic(String)

    /// The `source` stored with the route's events.
    public var sourceName: String {
        switch self {
        case .orderspace: "orderspace"
        case .o2vend: "o2vend"
        case .generic(let name): name
        }
    }

    /// The label used in metrics (a generic source's name would make the label set unbounded).
    var metricLabel: String {
        switch self {
        case .orderspace: "orderspace"
        case .o2vend: "o2vend"
        case .generic: "generic"
        }
    }
}

/// How a delivery was answered when it was accepted.
public struct IngestReceipt: Sendable, Hashable {
    /// Events in the request.
    public var events: Int
    /// Events stored by this request.
    public var stored: Int
    /// Events recognised as redeliveries and not stored again.
    public var duplicates: Int
    /// The `seq` of each event, in request order (for a duplicate, the original's).
    public var seqs: [UInt64]

    /// The JSON answer: `{"events":N,"stored":S,"duplicates":D,"seqs":[…]}`.
    ///
    /// Written digit by digit into one buffer: a batch's answer lists 50 seqs, and a `String` for each,
    /// joined, was 2 % of a busy server's CPU.
    public var json: String {
        var out: [UInt8] = []
        out.reserveCapacity(64 + seqs.count * 12)
        func text(_ s: StaticString) {
            out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
        }
        func number(_ n: UInt64) {
            let start = out.count
            var rest = n
            repeat {
                out.append(UInt8(ascii: "0") + UInt8(rest % 10))  // lowest digit first, turned round below
                rest /= 10
            } while rest > 0
            out[start...].reverse()
        }
        text("{\"events\":")
        number(UInt64(events))
        text(",\"stored\":")
        number(UInt64(stored))
        text(",\"duplicates\":")
        number(UInt64(duplicates))
        text(",\"seqs\":[")
        for (k, seq) in seqs.enumerated() {
            if k > 0 { out.append(UInt8(ascii: ",")) }
            number(seq)
        }
        text("]}")
        return String(decoding: out, as: UTF8.self)
    }
}

/// What ingest may be tuned with (the `serve` flags).
public struct IngestSettings: Sendable {
    /// How long a byte-identical ID-less request counts as a retry (`--dedupe-window`, default 7 days).
    public var dedupeWindow: Duration = .seconds(7 * 86_400)
    /// Larger bodies get a `413` (`--max-body`, default 4 MiB: 50 events of 80 KB each).
    public var maxBodyBytes: Int = 4 << 20
    /// A request whose body takes longer to arrive gets a `408` (`--body-timeout`, default 30 s).
    public var bodyTimeout: Duration = .seconds(30)
    /// The body bytes all requests together may hold at once; a request that would go over gets a `503`
    /// before its body is read (`--max-inflight-bytes`, default 64 MiB: sixteen bodies at the default
    /// `maxBodyBytes`).
    public var maxInflightBytes: Int = 64 << 20
    /// Connections open at once; those past it are answered `503` and closed (`--max-connections`).
    public var maxConnections: Int = 2048
    /// A connection whose request head has not arrived whole this long after its first byte (or after it
    /// opened) is closed (`--head-timeout`, default 10 s).
    public var headTimeout: Duration = .seconds(10)
    /// A kept-alive connection idle this long is closed.
    public var idleTimeout: Duration = .seconds(60)

    /// The defaults.
    public init() {}
}
