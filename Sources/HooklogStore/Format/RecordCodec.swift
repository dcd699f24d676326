/// The byte layout of one event inside a block's uncompressed bytes (see docs/FORMAT.md, "Record").
///
/// A record is `varint bodyLength` then the body, so a reader walks a block record by record without
/// parsing the fields of the ones it does not want.
enum RecordCodec {
    static let flagEntity: UInt8 = 1
    static let flagID: UInt8 = 2
    static let flagDigest: UInt8 = 4

    /// Appends one record.
    static func encode(
        _ event: NewEvent, receivedAt: Int64, bodyDigest: [UInt8]?, into out: inout ByteWriter
    ) {
        var body = ByteWriter(capacity: event.payload.count + 128)
        body.i64(receivedAt)
        body.string(event.account)
        body.string(event.source)
        body.string(event.type)
        var flags: UInt8 = 0
        if event.entity != nil { flags |= flagEntity }
        if event.id != nil { flags |= flagID }
        if bodyDigest != nil { flags |= flagDigest }
        body.u8(flags)
        if let entity = event.entity { body.string(entity) }
        if let id = event.id { body.string(id) }
        if let bodyDigest { body.blob(bodyDigest) }
        body.varint(UInt64(event.refs.count))
        for ref in event.refs { body.string(ref) }
        body.blob(event.payload)
        out.varint(UInt64(body.count))
        out.bytes.append(contentsOf: body.bytes)
    }

    /// Where each field of one record lies in the block's bytes.
    struct Layout {
        var receivedAt: Int64
        var account: Range<Int>
        var source: Range<Int>
        var type: Range<Int>
        var entity: Range<Int>?
        var id: Range<Int>?
        var digest: Range<Int>?
        var refs: [Range<Int>]
        var payload: Range<Int>
        /// Where the next record starts.
        var next: Int
    }

    /// Parses the record at `offset`, checking every length against the record's own bounds.
    static func layout(_ bytes: [UInt8], at offset: Int, end: Int) throws(ByteReader.Overrun) -> Layout {
        var outer = ByteReader(bytes, from: offset, to: end)
        let length = try outer.varint()
        guard length <= UInt64(outer.remaining) else { throw ByteReader.Overrun() }
        let next = outer.offset + Int(length)
        var r = ByteReader(bytes, from: outer.offset, to: next)
        let receivedAt = try r.i64()
        let account = try r.blobRange()
        let source = try r.blobRange()
        let type = try r.blobRange()
        let flags = try r.u8()
        let entity = flags & flagEntity != 0 ? try r.blobRange() : nil
        let id = flags & flagID != 0 ? try r.blobRange() : nil
        let digest = flags & flagDigest != 0 ? try r.blobRange() : nil
        let refCount = try r.varint()
        guard refCount <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
        var refs: [Range<Int>] = []
        refs.reserveCapacity(Int(refCount))
        for _ in 0..<refCount { refs.append(try r.blobRange()) }
        let payload = try r.blobRange()
        guard r.remaining == 0 else { throw ByteReader.Overrun() }
        return Layout(
            receivedAt: receivedAt, account: account, source: source, type: type, entity: entity, id: id,
            digest: digest, refs: refs, payload: payload, next: next)
    }

    /// The offset of the record after the one at `offset`, without parsing its fields.
    static func skip(_ bytes: [UInt8], at offset: Int, end: Int) throws(ByteReader.Overrun) -> Int {
        var r = ByteReader(bytes, from: offset, to: end)
        let length = try r.varint()
        guard length <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
        return r.offset + Int(length)
    }

    /// Materialises the event a layout describes.
    static func event(_ bytes: [UInt8], _ l: Layout, seq: UInt64) -> StoredEvent {
        func text(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }
        return StoredEvent(
            seq: seq, receivedAtMicros: l.receivedAt, account: text(l.account), source: text(l.source),
            type: text(l.type), entity: l.entity.map(text), refs: l.refs.map(text), id: l.id.map(text),
            payload: Array(bytes[l.payload]), bodyDigest: l.digest.map { Array(bytes[$0]) })
    }
}

extension Array where Element == UInt8 {
    /// Whether `self[range]` equals the UTF-8 of `string`, without allocating.
    func bytes(_ range: Range<Int>, equal string: String) -> Bool {
        var s = string
        return s.withUTF8 { utf8 in
            guard utf8.count == range.count else { return false }
            var i = range.lowerBound
            for b in utf8 {
                if self[i] != b { return false }
                i += 1
            }
            return true
        }
    }
}
