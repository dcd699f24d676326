/// The platform an event comes from.
public enum CorpusSource: String, Sendable {
    case orderspace
    case o2vend
}

/// One generated event: the fields ingest would extract (per the contract's rules) and the payload bytes.
public struct CorpusEvent: Sendable {
    /// The account the delivery authenticated as.
    public var account: String
    /// `orderspace` or `o2vend`.
    public var source: String
    /// The type exactly as the sender names it (`order.created`, `Order.Create`).
    public var type: String
    /// The ID of the object the event is about.
    public var entity: String?
    /// The other IDs the event mentions (customer, order, invoice, SKUs).
    public var refs: [String]
    /// O2VEND's event `Id`; nil for Orderspace.
    public var id: String?
    /// The single event object's JSON, as ingest would store it.
    public var payload: [UInt8]

    /// Creates an event.
    public init(
        account: String, source: String, type: String, entity: String?, refs: [String], id: String?,
        payload: [UInt8]
    ) {
        self.account = account
        self.source = source
        self.type = type
        self.entity = entity
        self.refs = refs
        self.id = id
        self.payload = payload
    }

    /// Appends the event as one NDJSON line (`{"account",...,"payload"}` and a newline), the payload embedded
    /// with the whitespace outside strings dropped, as `hooklog query --format ndjson` prints it.
    public func appendNDJSON(to w: JSONBytes) {
        w.raw("{\"account\":")
        w.string(account)
        w.raw(",\"source\":")
        w.string(source)
        w.raw(",\"type\":")
        w.string(type)
        w.raw(",\"entity\":")
        w.stringOrNull(entity)
        w.raw(",\"refs\":[")
        for (i, r) in refs.enumerated() {
            if i > 0 { w.append(0x2C) }
            w.string(r)
        }
        w.raw("],\"id\":")
        w.stringOrNull(id)
        w.raw(",\"payload\":")
        w.appendMinified(payload)
        w.raw("}\n")
    }
}
