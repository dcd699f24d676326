import HooklogSigning

/// A source configured with `hooklog source add`: where each field is, as JSON pointers into each event
/// or `header:NAME`.
public struct GenericSource: Sendable, Hashable, Codable {
    /// The source's name (the `{source}` of `POST /v1/hooks/{source}/{token}`).
    public var name: String
    /// Where the type is (required).
    public var typeAt: String
    /// Where the entity is.
    public var entityAt: String
    /// Where the event ID is, if the sender has one.
    public var idAt: String?
    /// Where refs are: each a scalar or an array of scalars.
    public var refsAt: [String]
    /// A pointer to the array of events inside the body; nil: the body is one event, or an array of them.
    public var eventsAt: String?
    /// How a delivery proves it comes from the account's secret holder.
    public var verify: WebhookSignature
    /// How far (seconds) a signed timestamp may be from now (Standard Webhooks, Stripe).
    public var toleranceSeconds: Int64

    /// Creates a source description.
    public init(
        name: String, typeAt: String, entityAt: String, idAt: String? = nil, refsAt: [String] = [],
        eventsAt: String? = nil,
        verify: WebhookSignature = .none, toleranceSeconds: Int64 = 300
    ) {
        self.verify = verify
        self.toleranceSeconds = toleranceSeconds
        self.name = name
        self.typeAt = typeAt
        self.entityAt = entityAt
        self.idAt = idAt
        self.refsAt = refsAt
        self.eventsAt = eventsAt
    }

    /// Checks that every location is a JSON pointer or `header:NAME`.
    public func validate() throws(IngestError) {
        for p in [typeAt, entityAt] + [idAt, eventsAt].compactMap({ $0 }) + refsAt {
            guard p.isEmpty || p.hasPrefix("/") || (p.hasPrefix("header:") && p.count > 7) else {
                throw IngestError(status: 400, "'\(p)' is neither a JSON pointer (/data/object/id) nor header:NAME")
            }
        }
    }

    /// Extracts every event of a delivery, or refuses the whole delivery.
    ///
    /// - Parameter headers: the request's headers, names lowercased.
    public func extract(body: [UInt8], headers: [String: String]) throws(IngestError) -> [ExtractedEvent] {
        let tape = try JSONTape.body(body)
        var events: [Int]
        if let eventsAt {
            guard let list = tape.pointer(eventsAt), tape.kind(list) == .array else {
                throw IngestError(status: 400, "no array of events at \(eventsAt)")
            }
            events = tape.elements(list)
        } else {
            events = tape.kind(tape.root) == .array ? tape.elements(tape.root) : [tape.root]
        }
        guard !events.isEmpty else { throw IngestError(status: 400, "the delivery holds no event") }
        func scalar(_ location: String, _ event: Int) -> String? {
            if location.hasPrefix("header:") { return headers[String(location.dropFirst(7)).lowercased()] }
            return tape.pointer(location, from: event).flatMap(tape.idText)
        }
        return try events.enumerated().map { (n, e) throws(IngestError) in
            guard let type = scalar(typeAt, e), !type.isEmpty else {
                throw IngestError(status: 400, "event \(n) has no type at \(typeAt)")
            }
            var refs = IDSet()
            for location in refsAt {
                if !location.hasPrefix("header:"), let at = tape.pointer(location, from: e), tape.kind(at) == .array {
                    for item in tape.elements(at) { refs.add(tape.idText(item)) }
                } else {
                    refs.add(scalar(location, e))
                }
            }
            return ExtractedEvent(
                type: type, entity: scalar(entityAt, e), refs: refs.values,
                id: id(of: n, e, count: events.count, scalar),
                payload: body[tape.range(e)])
        }
    }

    /// The ID of event `n` of a delivery of `count` events.
    ///
    /// Standard Webhooks names each delivery in `webhook-id`: that is the event's ID unless `idAt` says
    /// otherwise. An ID read from a header (`webhook-id`, or an `idAt` of `header:NAME`) names the delivery,
    /// not an event: every event of a batch would carry the same one, and all but the first would be
    /// taken for redeliveries and never stored. So in a delivery of several events, a header ID gets the
    /// event's position appended (`msg_2Lx#0`, `msg_2Lx#1`, ...): distinct within the delivery, and the
    /// same again when the sender redelivers the same batch, which is still recognised event by event. A
    /// delivery of one event keeps the header's ID as it is, as the contract says.
    private func id(of n: Int, _ e: Int, count: Int, _ scalar: (String, Int) -> String?) -> String? {
        guard let location = idAt ?? (verify == .standardWebhooks ? "header:webhook-id" : nil),
            let id = scalar(location, e)
        else { return nil }
        return count > 1 && location.hasPrefix("header:") ? "\(id)#\(n)" : id
    }
}
