/// The byte layout of one event inside a block's uncompressed bytes (see docs/FORMAT.md, "Record").
///
/// A record is `varint bodyLength` then the body, so a reader walks a block record by record without
/// parsing the fields of the ones it does not want.
enum RecordCodec {
    static let flagEntity: UInt8 = 1
    static let flagID: UInt8 = 2
    static let flagDigest: UInt8 = 4

    @inline(__always)
    static func varintSize(_ v: Int) -> Int {
        var n = 1
        var x = v >> 7
        while x != 0 {
            n += 1
            x >>= 7
        }
        return n
    }

    @inline(__always)
    static func blobSize(_ n: Int) -> Int { varintSize(n) + n }

    /// Appends one record straight into `out` (the frame's buffer): the body length is computed first,
    /// so nothing is encoded twice or copied.
    static func encode(
        _ event: NewEvent, receivedAt: Int64, bodyDigest: [UInt8]?, into out: inout ByteWriter
    ) {
        var length =
            8 + 1 + blobSize(event.account.utf8.count) + blobSize(event.source.utf8.count)
            + blobSize(event.type.utf8.count) + varintSize(event.refs.count) + blobSize(event.payload.count)
        if let entity = event.entity { length += blobSize(entity.utf8.count) }
        if let id = event.id { length += blobSize(id.utf8.count) }
        if let bodyDigest { length += blobSize(bodyDigest.count) }
        for ref in event.refs { length += blobSize(ref.utf8.count) }
        out.varint(UInt64(length))
        out.i64(receivedAt)
        out.string(event.account)
        out.string(event.source)
        out.string(event.type)
        var flags: UInt8 = 0
        if event.entity != nil { flags |= flagEntity }
        if event.id != nil { flags |= flagID }
        if bodyDigest != nil { flags |= flagDigest }
        out.u8(flags)
        if let entity = event.entity { out.string(entity) }
        if let id = event.id { out.string(id) }
        if let bodyDigest { out.blob(bodyDigest) }
        out.varint(UInt64(event.refs.count))
        for ref in event.refs { out.string(ref) }
        out.blob(event.payload)
    }

    /// Where each field of one record lies in the block's bytes.
    struct Layout: Sendable {
        var receivedAt: Int64
        var account: Range<Int>
        var source: Range<Int>
        var type: Range<Int>
        var entity: Range<Int>?
        var id: Range<Int>?
        var digest: Range<Int>?
        /// Where the refs start (just past their count) and how many there are: parsed on demand.
        var refsStart: Int
        var refCount: Int
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
        let refsStart = r.offset
        for _ in 0..<refCount { _ = try r.blobRange() }
        let payload = try r.blobRange()
        guard r.remaining == 0 else { throw ByteReader.Overrun() }
        return Layout(
            receivedAt: receivedAt, account: account, source: source, type: type, entity: entity, id: id,
            digest: digest, refsStart: refsStart, refCount: Int(refCount), payload: payload, next: next)
    }

    /// Calls `body` with the range of each ref of a record whose layout was validated by `layout`.
    @inline(__always)
    static func forEachRef(_ bytes: [UInt8], _ l: Layout, _ body: (Range<Int>) throws -> Void) rethrows {
        var r = ByteReader(bytes, from: l.refsStart, to: l.payload.lowerBound)
        for _ in 0..<l.refCount {
            guard let range = try? r.blobRange() else { return }  // unreachable: `layout` checked them
            try body(range)
        }
    }

    /// Whether any ref of the record equals `string`.
    static func hasRef(_ bytes: [UInt8], _ l: Layout, equal string: String) -> Bool {
        var found = false
        forEachRef(bytes, l) { if !found && bytes.bytes($0, equal: string) { found = true } }
        return found
    }

    /// The offset of the record after the one at `offset`, without parsing its fields.
    static func skip(_ bytes: [UInt8], at offset: Int, end: Int) throws(ByteReader.Overrun) -> Int {
        var r = ByteReader(bytes, from: offset, to: end)
        let length = try r.varint()
        guard length <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
        return r.offset + Int(length)
    }

    static func refs(_ bytes: [UInt8], _ l: Layout) -> [String] {
        var out: [String] = []
        out.reserveCapacity(l.refCount)
        forEachRef(bytes, l) { out.append(String(decoding: bytes[$0], as: UTF8.self)) }
        return out
    }

    /// Materialises the event a layout describes.
    static func event(_ bytes: [UInt8], _ l: Layout, seq: UInt64) -> StoredEvent {
        func text(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }
        return StoredEvent(
            seq: seq, receivedAtMicros: l.receivedAt, account: text(l.account), source: text(l.source),
            type: text(l.type), entity: l.entity.map(text), refs: refs(bytes, l), id: l.id.map(text),
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
