// The requests of the ingest benchmark, built from the corpus before any timing starts.
import Corpus
import HooklogStore
import NIOCore

/// Orderspace batches of `size` events (the corpus's Orderspace events in stream order), as the server
/// would store them and as the request bodies that carry them.
struct OrderspaceBatches: Sendable {
    /// The events of each batch, as `hooklog serve` extracts them (account `default`, source `orderspace`).
    let events: [[NewEvent]]
    /// Each batch as an Orderspace request body: `[` the payloads joined by `,` `]`, so the bytes ingest
    /// stores for each event (the element's range in the body) are exactly the payload appended in process.
    let bodies: [ByteBuffer]
    /// Sum of the payload bytes of all events.
    let payloadBytes: Int
    /// The payload bytes of each batch.
    let batchPayloadBytes: [Int]
    /// Sum of the body bytes.
    let bodyBytes: Int

    init(seed: UInt64, batches: Int, size: Int, account: String = "default") {
        var generator = CorpusGenerator(seed: seed)
        var events: [[NewEvent]] = []
        var bodies: [ByteBuffer] = []
        events.reserveCapacity(batches)
        bodies.reserveCapacity(batches)
        var payloadBytes = 0
        var bodyBytes = 0
        var batchPayloadBytes: [Int] = []
        var batchPayload = 0
        var current: [NewEvent] = []
        var body: [UInt8] = []
        while events.count < batches {
            guard let e = generator.next() else { break }
            guard e.source == CorpusSource.orderspace.rawValue else { continue }
            current.append(
                NewEvent(
                    account: account, source: e.source, type: e.type, entity: e.entity, refs: e.refs, id: nil,
                    payload: e.payload))
            body.append(current.count == 1 ? UInt8(ascii: "[") : UInt8(ascii: ","))
            body.append(contentsOf: e.payload)
            payloadBytes += e.payload.count
            batchPayload += e.payload.count
            if current.count == size {
                batchPayloadBytes.append(batchPayload)
                batchPayload = 0
                body.append(UInt8(ascii: "]"))
                bodyBytes += body.count
                events.append(current)
                bodies.append(ByteBuffer(bytes: body))
                current.removeAll(keepingCapacity: true)
                body.removeAll(keepingCapacity: true)
            }
        }
        self.events = events
        self.bodies = bodies
        self.payloadBytes = payloadBytes
        self.bodyBytes = bodyBytes
        self.batchPayloadBytes = batchPayloadBytes
    }

    /// The body of request `i`: batch `i % count`; on the set's pass `p = i / count` > 0, with `p` spaces
    /// after the opening `[`. The body differs (so it is not a retry for body dedupe) while every event's
    /// bytes, and so what the archive stores, stay those of the batch.
    func body(_ i: Int) -> ByteBuffer {
        let base = bodies[i % bodies.count]
        let pass = i / bodies.count
        if pass == 0 { return base }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(base.readableBytes + pass)
        buffer.writeInteger(UInt8(ascii: "["))
        buffer.writeRepeatingByte(UInt8(ascii: " "), count: pass)
        buffer.writeImmutableBuffer(base.getSlice(at: base.readerIndex + 1, length: base.readableBytes - 1)!)
        return buffer
    }

    func payloadBytes(_ i: Int) -> Int { batchPayloadBytes[i % batchPayloadBytes.count] }
}

/// Single O2VEND events: a pool of corpus events whose `Id` is rewritten per request, so that every request
/// is a new event (O2VEND deliveries are deduplicated by `Id`) and any number of requests can be made.
/// Request `i` of run `tag` always has the same bytes, whichever server it is sent to.
struct O2VendSingles: Sendable {
    let pool: [[UInt8]]
    /// Where the 36-character UUID of `Id` starts in each pool payload.
    let idOffsets: [Int]
    let tag: UInt32

    init(seed: UInt64, poolSize: Int, tag: UInt32) {
        var generator = CorpusGenerator(seed: seed)
        var pool: [[UInt8]] = []
        var offsets: [Int] = []
        pool.reserveCapacity(poolSize)
        while pool.count < poolSize {
            guard let e = generator.next() else { break }
            guard e.source == CorpusSource.o2vend.rawValue, let offset = Self.idOffset(e.payload) else { continue }
            pool.append(e.payload)
            offsets.append(offset)
        }
        self.pool = pool
        self.idOffsets = offsets
        self.tag = tag
    }

    /// The offset of the UUID in `{"Id": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", ...`.
    static func idOffset(_ payload: [UInt8]) -> Int? {
        let key = Array("\"Id\": \"".utf8)
        guard payload.count > key.count + 37 else { return nil }
        for start in 0..<min(16, payload.count - key.count - 37) where Array(payload[start..<start + key.count]) == key {
            let offset = start + key.count
            return payload[offset + 36] == UInt8(ascii: "\"") ? offset : nil
        }
        return nil
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)
    static let uuidTemplate: [UInt8] = Array("00000000-0000-4000-8000-000000000000".utf8)
    static let counterPositions = [9, 10, 11, 12, 15, 16, 17, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35]

    var averageBytes: Int { pool.isEmpty ? 0 : pool.reduce(0) { $0 + $1.count } / pool.count }

    /// The body of request `i`: pool event `i % count` with `Id` = a UUID made of the tag and `i`.
    func body(_ i: Int) -> ByteBuffer {
        let k = i % pool.count
        let payload = pool[k]
        let offset = idOffsets[k]
        var buffer = ByteBuffer()
        buffer.reserveCapacity(payload.count)
        buffer.writeBytes(payload[0..<offset])
        // tttttttt-iiii-4iii-8iii-iiiiiiiiiiii: 8 hex digits of the tag, 22 of i (version 4, variant 8).
        let hex = Self.hex
        var uuid = Self.uuidTemplate
        let t = UInt64(tag)
        for j in 0..<8 { uuid[j] = hex[Int((t >> UInt64(28 - 4 * j)) & 15)] }
        var n = UInt64(i)
        for p in Self.counterPositions.reversed() {
            uuid[p] = hex[Int(n & 15)]
            n >>= 4
        }
        buffer.writeBytes(uuid)
        buffer.writeBytes(payload[(offset + 36)...])
        return buffer
    }
}
