/// An event to be archived: what ingest extracted from a delivery, and the delivery's bytes.
public struct NewEvent: Sendable, Hashable {
    /// The account the delivery authenticated as.
    public var account: String
    /// `orderspace`, `o2vend`, or a generic source's name.
    public var source: String
    /// The event type exactly as the sender named it.
    public var type: String
    /// The ID of the object the event is about, if one was found.
    public var entity: String?
    /// Other IDs the event mentions that a user may search by.
    public var refs: [String]
    /// The sender's own event ID, if it has one. Events with an ID are stored once per (account, source, id).
    public var id: String?
    /// The event's JSON exactly as received.
    ///
    /// A slice, so that the events of one request can share its body's bytes rather than each copying
    /// its own: on the ingest hot path that copy was 50 allocations, frees and memcpys a batch.
    public var payload: ArraySlice<UInt8>

    /// Creates an event to append.
    public init(
        account: String, source: String, type: String, entity: String?, refs: [String], id: String?,
        payload: ArraySlice<UInt8>
    ) {
        self.account = account
        self.source = source
        self.type = type
        self.entity = entity
        self.refs = refs
        self.id = id
        self.payload = payload
    }

    /// Creates an event to append from a whole array of payload bytes.
    public init(
        account: String, source: String, type: String, entity: String?, refs: [String], id: String?,
        payload: [UInt8]
    ) {
        self.init(
            account: account, source: source, type: type, entity: entity, refs: refs, id: id, payload: payload[...])
    }
}

/// An event as the archive holds it.
public struct StoredEvent: Sendable, Hashable {
    /// Archive position: unique, gap-free and strictly increasing in append order.
    public var seq: UInt64
    /// Server time of receipt, microseconds since the Unix epoch (UTC).
    public var receivedAtMicros: Int64
    /// The account the delivery authenticated as.
    public var account: String
    /// The source the delivery came through.
    public var source: String
    /// The event type exactly as the sender named it.
    public var type: String
    /// The ID of the object the event is about, if one was found.
    public var entity: String?
    /// Other IDs the event mentions.
    public var refs: [String]
    /// The sender's own event ID, if any.
    public var id: String?
    /// The event's JSON exactly as received.
    public var payload: [UInt8]
    /// The request-body digest the event was stored under, when its request carried no event IDs.
    public var bodyDigest: [UInt8]?

    /// Creates a stored event (the store makes these; tests may too).
    public init(
        seq: UInt64, receivedAtMicros: Int64, account: String, source: String, type: String, entity: String?,
        refs: [String], id: String?, payload: [UInt8], bodyDigest: [UInt8]? = nil
    ) {
        self.seq = seq
        self.receivedAtMicros = receivedAtMicros
        self.account = account
        self.source = source
        self.type = type
        self.entity = entity
        self.refs = refs
        self.id = id
        self.payload = payload
        self.bodyDigest = bodyDigest
    }
}

/// A batch of events to store whole or not at all, with the request's dedupe key.
public struct AppendRequest: Sendable {
    /// The events, in the order they are to get their `seq`s.
    public var events: [NewEvent]
    /// A digest of the whole request body, for senders with no event IDs (Orderspace): a request whose
    /// digest was already stored for the same account and source within `dedupeWindow` is a retry and is
    /// not stored again; its outcomes name the original's seqs, in order. Meant for requests whose events
    /// carry no IDs (with IDs, dedupe by ID applies). `nil` turns body dedupe off for this request.
    public var bodyDigest: [UInt8]?
    /// How far back a matching `bodyDigest` counts as a retry.
    public var dedupeWindow: Duration

    /// Creates a request.
    public init(events: [NewEvent], bodyDigest: [UInt8]? = nil, dedupeWindow: Duration = .seconds(7 * 86_400)) {
        self.events = events
        self.bodyDigest = bodyDigest
        self.dedupeWindow = dedupeWindow
    }
}

/// What became of each event of an `AppendRequest`.
public struct AppendResult: Sendable, Hashable {
    /// The fate of one event.
    public enum Outcome: Sendable, Hashable {
        /// Stored durably at this `seq`.
        case stored(UInt64)
        /// Already in the archive (same account, source and event ID, or a retried request body) at this
        /// `seq`; not stored again.
        case duplicate(UInt64)
    }

    /// One outcome per event of the request, in order.
    public var outcomes: [Outcome]

    /// The `seq`s of the events this request stored.
    public var storedSeqs: [UInt64] {
        outcomes.compactMap { if case .stored(let s) = $0 { s } else { nil } }
    }

    /// How many events were recognised as redeliveries.
    public var duplicateCount: Int {
        outcomes.reduce(0) { if case .duplicate = $1 { $0 + 1 } else { $0 } }
    }
}
