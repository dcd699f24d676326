/// Orderspace deliveries: a JSON array of 1 to 50 events `{"event": TYPE, "data": {KIND: OBJECT}}`, or a
/// single event object, with no event IDs.
///
/// `entity` is OBJECT's `id` (an `inventory_level`'s `sku`, a `payment`'s `invoice_id`); `refs` are an
/// order's customer and line SKUs, a dispatch's order and line SKUs, an invoice's customer, orders and
/// line SKUs, a payment's reference, a product's variant SKUs. An unknown KIND is stored with no entity.
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
            guard let t = tape.member(e, "event"), let type = tape.string(t), !type.isEmpty else {
                throw IngestError(status: 400, "event \(n) has no \"event\" type")
            }
            var entity: String? = nil
            var refs = IDSet()
            if let data = tape.member(e, "data"), let (kindKey, object) = tape.firstMember(data),
                let kind = tape.string(kindKey), tape.kind(object) == .object
            {
                func field(_ name: String) -> String? { tape.member(object, name).flatMap(tape.idText) }
                func each(_ list: String, _ name: String) {
                    guard let items = tape.member(object, list) else { return }
                    for item in tape.elements(items) { refs.add(tape.member(item, name).flatMap(tape.idText)) }
                }
                switch kind {
                case "order":
                    entity = field("id")
                    refs.add(field("customer_id"))
                    each("order_lines", "sku")
                case "dispatch":
                    entity = field("id")
                    refs.add(field("order_id"))
                    each("dispatch_lines", "sku")
                case "invoice":
                    entity = field("id")
                    refs.add(field("customer_id"))
                    each("orders", "id")
                    each("invoice_lines", "sku")
                case "payment":
                    entity = field("invoice_id")
                    refs.add(field("reference"))
                case "product":
                    entity = field("id")
                    each("product_variants", "sku")
                case "customer":
                    entity = field("id")
                case "inventory_level":
                    entity = field("sku")
                default:
                    break  // a type hooklog does not know: archived all the same, with no entity
                }
            }
            out.append(
                ExtractedEvent(type: type, entity: entity, refs: refs.values, id: nil, payload: Array(body[tape.range(e)])))
        }
        return out
    }
}
