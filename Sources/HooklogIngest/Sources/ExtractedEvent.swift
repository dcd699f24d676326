import HooklogStore

/// What ingest finds in one event of a delivery: the fields the archive indexes, and the event's bytes
/// exactly as received.
public struct ExtractedEvent: Sendable, Hashable {
    /// The event type exactly as the sender named it.
    public var type: String
    /// The ID of the object the event is about, if found.
    public var entity: String?
    /// Other IDs a user may search by.
    public var refs: [String]
    /// The sender's event ID, if it has one.
    public var id: String?
    /// The event's JSON exactly as received: a slice of the request body, which the events of a batch
    /// share (no copy per event).
    public var payload: ArraySlice<UInt8>

    /// Creates an extracted event.
    public init(type: String, entity: String?, refs: [String], id: String?, payload: ArraySlice<UInt8>) {
        self.type = type
        self.entity = entity
        self.refs = refs
        self.id = id
        self.payload = payload
    }

    /// The event to append for `account` and `source`.
    public func newEvent(account: String, source: String) -> NewEvent {
        NewEvent(account: account, source: source, type: type, entity: entity, refs: refs, id: id, payload: payload)
    }
}

/// A delivery refused before anything was stored, with the HTTP status it maps to.
public struct IngestError: Error, Sendable, CustomStringConvertible {
    /// 400, 401, 413, 503.
    public var status: Int
    /// Said to the sender (in a JSON `{"error": ...}` for 400s; 401s say nothing more).
    public var message: String

    /// Creates an error.
    public init(status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

}

extension JSONTape {
    /// Parses a request body, refusing it with a 400 that says where it is not JSON.
    static func body(_ bytes: [UInt8]) throws(IngestError) -> JSONTape {
        do {
            return try JSONTape(parsing: bytes)
        } catch {
            throw IngestError(status: 400, "malformed JSON: \(error.description)")
        }
    }
}

/// Collects IDs once each, in first-seen order.
///
/// An event has a handful of refs (a customer, a few line SKUs): below 16 a linear search of the list
/// is cheaper than hashing every ID into a `Set` (which took 3 % of a busy server's CPU); past 16 the set
/// takes over, so a 500-line order stays linear in its lines.
struct IDSet {
    private(set) var values: [String] = []
    private var seen: Set<String>? = nil

    mutating func add(_ value: String?) {
        guard let value, !value.isEmpty else { return }
        if seen == nil {
            guard !values.contains(value) else { return }
            if values.isEmpty { values.reserveCapacity(8) }  // one allocation, not a regrowth at 1, 3, 6 refs
            values.append(value)
            if values.count == 16 { seen = Set(values) }
        } else if seen!.insert(value).inserted {
            values.append(value)
        }
    }
}
