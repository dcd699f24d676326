#if canImport(Glibc)
import Glibc
#endif

/// Which events a read wants. Every set field must hold (AND); `nil` fields match everything.
public struct EventFilter: Sendable, Hashable {
    /// Exactly this account.
    public var account: String?
    /// Exactly this source.
    public var source: String?
    /// A type, or a glob over types (`order.*`, `Shipment.?elivered`, `[Oo]rder.*`).
    public var type: String?
    /// Events whose `entity` is this.
    public var entity: String?
    /// Events whose `entity` is this or whose `refs` contain it.
    public var ref: String?
    /// Received at or after this time, µs since the epoch.
    public var since: Int64?
    /// Received before this time, µs since the epoch.
    public var until: Int64?
    /// Payload bytes contain this byte string.
    public var contains: [UInt8]?
    /// Only events after this seq (to follow a growing archive).
    public var afterSeq: UInt64?
    /// Only events before this seq (to page backwards through `--reverse` results).
    public var beforeSeq: UInt64?

    /// Creates a filter; with no arguments it matches every event.
    public init(
        account: String? = nil, source: String? = nil, type: String? = nil, entity: String? = nil,
        ref: String? = nil, since: Int64? = nil, until: Int64? = nil, contains: [UInt8]? = nil,
        afterSeq: UInt64? = nil, beforeSeq: UInt64? = nil
    ) {
        self.beforeSeq = beforeSeq
        self.account = account
        self.source = source
        self.type = type
        self.entity = entity
        self.ref = ref
        self.since = since
        self.until = until
        self.contains = contains
        self.afterSeq = afterSeq
    }

    /// Whether `type` is a glob rather than a plain type name.
    var typeIsGlob: Bool { type.map { $0.contains(where: { "*?[".contains($0) }) } ?? false }

    static func glob(_ pattern: String, matches name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }

    /// Whether a record (by its layout in `bytes`) passes every field of the filter.
    func matches(_ bytes: [UInt8], _ l: RecordCodec.Layout, seq: UInt64) -> Bool {
        if let afterSeq, seq <= afterSeq { return false }
        if let beforeSeq, seq >= beforeSeq { return false }
        if let since, l.receivedAt < since { return false }
        if let until, l.receivedAt >= until { return false }
        if let account, !bytes.bytes(l.account, equal: account) { return false }
        if let source, !bytes.bytes(l.source, equal: source) { return false }
        if let type {
            if typeIsGlob {
                if !Self.glob(type, matches: String(decoding: bytes[l.type], as: UTF8.self)) { return false }
            } else if !bytes.bytes(l.type, equal: type) {
                return false
            }
        }
        if let entity {
            guard let e = l.entity, bytes.bytes(e, equal: entity) else { return false }
        }
        if let ref {
            let hit =
                (l.entity.map { bytes.bytes($0, equal: ref) } ?? false) || RecordCodec.hasRef(bytes, l, equal: ref)
            if !hit { return false }
        }
        if let contains, !contains.isEmpty, !bytes.contains(contains, in: l.payload) { return false }
        return true
    }
}

extension Array where Element == UInt8 {
    /// Whether `self[range]` contains `needle`.
    ///
    /// `--contains` scans every payload, and a byte loop over them took more time than decompressing
    /// them (42 % of a full scan, against LZ4's 30 %); `memchr` on the first byte was little better,
    /// the first byte of an ID (`o` of `or_…`) being everywhere in JSON. So, 16 positions at a time
    /// (SIMD), a position is a candidate only if both the needle's first and last bytes are there, and
    /// only candidates are compared whole (`memcmp`): with two bytes to match, they are rare.
    func contains(_ needle: [UInt8], in range: Range<Int>) -> Bool {
        guard let first = needle.first, let last = needle.last else { return true }
        guard needle.count <= range.count, range.lowerBound >= 0, range.upperBound <= count else { return false }
        return withUnsafeBytes { haystack in
            needle.withUnsafeBytes { n in
                let base = haystack.baseAddress!
                let k = needle.count
                // One past the last place the needle can start.
                let end = range.upperBound - k + 1
                var at = range.lowerBound
                let firsts = SIMD16<UInt8>(repeating: first)
                let lasts = SIMD16<UInt8>(repeating: last)
                // Vectors of 16 starts while both loads (at, and at + k - 1) stay inside the range.
                while end - at >= 16 {
                    let a = (base + at).loadUnaligned(as: SIMD16<UInt8>.self)
                    let b = (base + at + k - 1).loadUnaligned(as: SIMD16<UInt8>.self)
                    let candidates = (a .== firsts) .& (b .== lasts)
                    if any(candidates) {
                        for lane in 0..<16 where candidates[lane] {
                            if memcmp(base + at + lane, n.baseAddress!, k) == 0 { return true }
                        }
                    }
                    at += 16
                }
                while at < end {
                    if base.load(fromByteOffset: at, as: UInt8.self) == first,
                        base.load(fromByteOffset: at + k - 1, as: UInt8.self) == last,
                        memcmp(base + at, n.baseAddress!, k) == 0
                    {
                        return true
                    }
                    at += 1
                }
                return false
            }
        }
    }
}
