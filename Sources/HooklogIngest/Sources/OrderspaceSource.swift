/// Orderspace deliveries: a JSON array of 1 to 50 events `{"event": TYPE, "data": {KIND: OBJECT}}`, or a
/// single event object, with no event IDs.
///
/// `entity` is OBJECT's `id` (an `inventory_level`'s `sku`, a `payment`'s `invoice_id`); `refs` are an
/// order's customer and line SKUs, a dispatch's order and line SKUs, an invoice's customer, orders and
/// line SKUs, a payment's reference, a product's variant SKUs. An unknown KIND is stored with no entity.
///
/// Names are matched as bytes (`member(_:named:)`, `stringIs`) and lists walked in place
/// (`forEachElement`), with no closure capturing the refs: this runs for every event of the busiest
/// route, and the `String` comparisons, element arrays and boxed captures it replaced were as costly as
/// a third of the JSON pass itself.
public enum OrderspaceSource {
    /// The largest batch Orderspace sends.
    public static let maxBatch = 50

    /// Extracts every event of a delivery, or refuses the whole delivery.
    public static func extract(body: [UInt8]) throws(IngestError) -> [ExtractedEvent] {
        let tape = try JSONTape.body(body)
        let events: [Int]
        switch tape.kind(tape.root) {
        case .array: events = tape.elements(tape.root)
        case .object: events = [tape.root]
        default: throw IngestError(status: 400, "expected a JSON array of events or one event object")
        }
        guard !events.isEmpty else { throw IngestError(status: 400, "the batch holds no event") }
        guard events.count <= maxBatch else {
            throw IngestError(status: 400, "a batch holds at most \(maxBatch) events; this one holds \(events.count)")
        }
        var out: [ExtractedEvent] = []
        out.reserveCapacity(events.count)
        for (n, e) in events.enumerated() {
            guard tape.kind(e) == .object else { throw IngestError(status: 400, "event \(n) is not a JSON object") }
            guard let t = tape.member(e, named: "event"), let type = tape.string(t), !type.isEmpty else {
                throw IngestError(status: 400, "event \(n) has no \"event\" type")
            }
            var entity: String? = nil
            var refs = IDSet()
            if let data = tape.member(e, named: "data"), let (kindKey, object) = tape.firstMember(data),
                tape.kind(object) == .object
            {
                if tape.stringIs(kindKey, "order") {
                    entity = field(tape, object, "id")
                    refs.add(field(tape, object, "customer_id"))
                    each(tape, object, "order_lines", "sku", into: &refs)
                } else if tape.stringIs(kindKey, "dispatch") {
                    entity = field(tape, object, "id")
                    refs.add(field(tape, object, "order_id"))
                    each(tape, object, "dispatch_lines", "sku", into: &refs)
                } else if tape.stringIs(kindKey, "invoice") {
                    entity = field(tape, object, "id")
                    refs.add(field(tape, object, "customer_id"))
                    each(tape, object, "orders", "id", into: &refs)
                    each(tape, object, "invoice_lines", "sku", into: &refs)
                } else if tape.stringIs(kindKey, "payment") {
                    entity = field(tape, object, "invoice_id")
                    refs.add(field(tape, object, "reference"))
                } else if tape.stringIs(kindKey, "product") {
                    entity = field(tape, object, "id")
                    each(tape, object, "product_variants", "sku", into: &refs)
                } else if tape.stringIs(kindKey, "customer") {
                    entity = field(tape, object, "id")
                } else if tape.stringIs(kindKey, "inventory_level") {
                    entity = field(tape, object, "sku")
                }
                // Any other kind: a type hooklog does not know, archived all the same with no entity.
            }
            out.append(
                ExtractedEvent(type: type, entity: entity, refs: refs.values, id: nil, payload: body[tape.range(e)]))
        }
        return out
    }

    /// The ID text of member `name` of the object at `object`.
    private static func field(_ tape: JSONTape, _ object: Int, _ name: StaticString) -> String? {
        tape.member(object, named: name).flatMap(tape.idText)
    }

    /// Adds the ID text of member `name` of each object in the list `list` of the object at `object`.
    private static func each(
        _ tape: JSONTape, _ object: Int, _ list: StaticString, _ name: StaticString, into refs: inout IDSet
    ) {
        guard let items = tape.member(object, named: list) else { return }
        tape.forEachElement(items) { item in refs.add(field(tape, item, name)) }
    }
}
