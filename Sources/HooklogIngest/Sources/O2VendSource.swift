/// O2VEND deliveries: one event object (or an array of them)
/// `{"Id": UUID, "Event": TYPE, "Attempt": N, "Data": {...}, "CreationTimeUtc": TIME}`.
///
/// `type` = `Event`, `id` = `Id`, `entity` = `Data.Id`, else `Data.OrderId`, `Data.ProductId`,
/// `Data.Sku`; `refs` = the `OrderId`, `ProductId`, `CustomerId` and `Sku` values in `Data` and in its
/// line items (arrays of objects inside `Data`).
public enum O2VendSource {
    static let refFields = ["OrderId", "ProductId", "CustomerId", "Sku"]

    /// Extracts every event of a delivery, or refuses the whole delivery.
    public static func extract(body: [UInt8]) throws(IngestError) -> [ExtractedEvent] {
        let tape = try JSONTape.body(body)
        let events: [Int]
        switch tape.kind(tape.root) {
        case .object: events = [tape.root]
        case .array: events = tape.elements(tape.root)
        default: throw IngestError(status: 400, "expected an O2VEND event object")
        }
        guard !events.isEmpty else { throw IngestError(status: 400, "the delivery holds no event") }
        return try events.enumerated().map { (n, e) throws(IngestError) in
            guard tape.kind(e) == .object else { throw IngestError(status: 400, "event \(n) is not a JSON object") }
            guard let t = tape.member(e, "Event"), let type = tape.string(t), !type.isEmpty else {
                throw IngestError(status: 400, "event \(n) has no \"Event\" type")
            }
            let id = tape.member(e, "Id").flatMap(tape.idText)
            var entity: String? = nil
            var refs = IDSet()
            if let data = tape.member(e, "Data"), tape.kind(data) == .object {
                for name in ["Id", "OrderId", "ProductId", "Sku"] {
                    if let v = tape.member(data, name).flatMap(tape.idText) {
                        entity = v
                        break
                    }
                }
                for name in refFields { refs.add(tape.member(data, name).flatMap(tape.idText)) }
                for (_, value) in tape.members(data) where tape.kind(value) == .array {
                    for item in tape.elements(value) where tape.kind(item) == .object {
                        for name in refFields { refs.add(tape.member(item, name).flatMap(tape.idText)) }
                    }
                }
            }
            return ExtractedEvent(type: type, entity: entity, refs: refs.values, id: id, payload: body[tape.range(e)])
        }
    }
}
