/// One event read in place from its decoded block, without copying anything: for scans and exports that
/// only need some fields (or just the payload bytes) of many events.
///
/// A view shares its decoded block (copy-on-write, never mutated): keeping one keeps the whole block in
/// memory, so keep `event` (a copy) to hold on to a single event for long.
public struct EventView: Sendable {
    let bytes: [UInt8]
    let layout: RecordCodec.Layout
    /// The event's archive position.
    public let seq: UInt64

    /// Server time of receipt, µs since the epoch.
    public var receivedAtMicros: Int64 { layout.receivedAt }
    /// The account.
    public var account: String { String(decoding: bytes[layout.account], as: UTF8.self) }
    /// The source.
    public var source: String { String(decoding: bytes[layout.source], as: UTF8.self) }
    /// The type.
    public var type: String { String(decoding: bytes[layout.type], as: UTF8.self) }
    /// The entity, if any.
    public var entity: String? { layout.entity.map { String(decoding: bytes[$0], as: UTF8.self) } }
    /// The sender's event ID, if any.
    public var id: String? { layout.id.map { String(decoding: bytes[$0], as: UTF8.self) } }
    /// The refs.
    public var refs: [String] { RecordCodec.refs(bytes, layout) }
    /// The payload's byte count.
    public var payloadCount: Int { layout.payload.count }

    /// The payload's bytes, sharing the decoded block's storage (no copy): holding it keeps that block
    /// (tens of KB) alive, so keep it only as long as an event waits to be sent.
    public var payloadSlice: ArraySlice<UInt8> { bytes[layout.payload] }

    /// Bytes of the decoded block the event was read from (what holding `payloadSlice` keeps alive).
    public var blockBytes: Int { bytes.count }

    /// Calls `body` with the payload bytes exactly as received, in place.
    public func withPayload<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[layout.payload])) }
    }

    /// A copy of the whole event.
    public var event: StoredEvent { RecordCodec.event(bytes, layout, seq: seq) }
}
