/// An immutable view of the archive: what a read sees, however the log grows meanwhile.
public struct ArchiveSnapshot: Sendable {
    let segments: [SegmentView]
    /// At least this is the view's `endSeq`: the active segment's base seq for a view that leaves
    /// sealed segments out (`ArchiveReader.snapshot(for:)`) and may hold no active segment.
    var endSeqFloor: UInt64 = 1

    init(segments: [SegmentView], endSeqFloor: UInt64 = 1) {
        self.segments = segments
        self.endSeqFloor = endSeqFloor
    }

    /// The seq of the oldest event still in the archive (1 for a new one).
    public var firstSeq: UInt64 { segments.first?.index.baseSeq ?? 1 }
    /// The seq after the newest event in the view.
    public var endSeq: UInt64 { max(segments.last?.index.endSeq ?? 1, endSeqFloor) }
    /// Number of events in the view (damaged ones excluded).
    public var eventCount: Int { segments.reduce(0) { $0 + $1.index.eventCount } }
    /// Damaged ranges known from indexing (more may be found while reading).
    public var damage: [DamagedRange] { segments.flatMap(\.index.damage) }
    /// Number of segments.
    public var segmentCount: Int { segments.count }
    /// Bytes of log in the view.
    public var logBytes: UInt64 { segments.reduce(0) { $0 + ($1.index.frames.last?.end ?? UInt64(FileHeader.size)) } }

    /// Bytes of records before compression (payloads and their fields).
    public var uncompressedBytes: UInt64 {
        segments.reduce(0) { $0 + $1.index.frames.reduce(0) { $0 + UInt64($1.header.uncompressedLength) } }
    }
    /// The same records as stored (frame headers included).
    public var compressedBytes: UInt64 {
        segments.reduce(0) { $0 + $1.index.frames.reduce(0) { $0 + UInt64($1.header.totalLength) } }
    }
    /// Receipt times of the oldest and newest events, µs.
    public var timeRange: ClosedRange<Int64>? {
        guard let first = segments.first(where: { $0.index.minTime != nil })?.index.minTime,
            let last = segments.last(where: { $0.index.maxTime != nil })?.index.maxTime
        else { return nil }
        return first...max(first, last)
    }

    /// Distinct values of an indexed name (accounts, sources or types) with their event counts.
    public func counts(of field: NameField) -> [String: Int] {
        var out: [String: Int] = [:]
        for s in segments {
            for (name, count) in s.index.names(field.kind) { out[name, default: 0] += count }
        }
        return out
    }

    /// The indexed name fields.
    public enum NameField: Sendable {
        case account, source, type
        var kind: IndexKey.Kind {
            switch self {
            case .account: .account
            case .source: .source
            case .type: .type
            }
        }
    }

    /// Calls `body` with each event that matches `filter`, in seq order (newest first if `reverse`).
    ///
    /// Index lookups narrow account, source, type, entity and ref filters to the events that carry them;
    /// frame time ranges skip whole frames for `since`/`until`; every candidate is then checked against
    /// the event itself, so a hash collision in an index never leaks a wrong event.
    ///
    /// - Parameters:
    ///   - limit: stop after this many matches.
    ///   - onDamage: called (instead of throwing) for a frame that fails its checksum while being read;
    ///     its events are skipped.
    ///   - body: return false to stop.
    public func forEach(
        matching filter: EventFilter, reverse: Bool = false, limit: Int? = nil,
        onDamage: ((StoreError) -> Void)? = nil, _ body: (StoredEvent) throws -> Bool
    ) throws {
        try forEachView(matching: filter, reverse: reverse, limit: limit, onDamage: onDamage) { try body($0.event) }
    }

    /// Like `forEach`, but hands out each event in place (`EventView`), copying nothing: for scans and
    /// exports that read a few fields or just the payload of many events.
    public func forEachView(
        matching filter: EventFilter, reverse: Bool = false, limit: Int? = nil,
        onDamage: ((StoreError) -> Void)? = nil, _ body: (EventView) throws -> Bool
    ) throws {
        var remaining = limit ?? Int.max
        guard remaining > 0 else { return }
        for segment in reverse ? Array(segments.reversed()) : segments {
            let index = segment.index
            if let after = filter.afterSeq, index.endSeq <= after + 1 { continue }
            if let before = filter.beforeSeq, index.baseSeq >= before { continue }
            if let since = filter.since, let maxTime = index.maxTime, maxTime < since { continue }
            if let until = filter.until, let minTime = index.minTime, minTime >= until { continue }
            let candidates = Self.candidates(index, filter).map { Self.trim($0, index.baseSeq, filter) }
            if let c = candidates, c.isEmpty { continue }
            // Which frames to visit, grouped by block. For a few candidates, only their frames (and their
            // blocks' earlier ones) are read from an index file, not its whole frame table.
            let frames = candidates.map { index.frames(holding: $0) } ?? index.frames
            var wanted: [Int] = []
            if let candidates {
                // Both ascend: one walk over the frames, not a binary search per candidate.
                var fi = 0
                for ordinal in candidates {
                    let seq = index.baseSeq + UInt64(ordinal)
                    while fi < frames.count && frames[fi].endSeq <= seq { fi += 1 }
                    guard fi < frames.count else { break }
                    guard frames[fi].firstSeq <= seq else { continue }
                    if wanted.last != fi { wanted.append(fi) }
                }
            } else {
                for (i, f) in frames.enumerated() {
                    if let since = filter.since, f.header.maxTime < since { continue }
                    if let until = filter.until, f.header.minTime >= until { continue }
                    if let after = filter.afterSeq, f.endSeq <= after + 1 { continue }
                    if let before = filter.beforeSeq, f.header.firstSeq >= before { continue }
                    wanted.append(i)
                }
            }
            var groups: [(first: Int, last: Int)] = []
            for fi in wanted {
                let first = BlockReader.blockFirst(frames, fi)
                if let g = groups.last, g.first == first {
                    groups[groups.count - 1].last = fi
                } else {
                    groups.append((first, fi))
                }
            }
            for group in reverse ? Array(groups.reversed()) : groups {
                let decoded: BlockReader.Decoded
                do throws(StoreError) {
                    decoded = try BlockReader.decode(
                        file: segment.file, frames: frames, first: group.first, last: group.last)
                    if let damage = decoded.damage {
                        guard let onDamage else { throw damage }
                        onDamage(damage)
                    }
                } catch {
                    guard let onDamage else { throw error }
                    onDamage(error)
                    continue
                }
                var matched: [EventView] = []
                var stop = false
                let base = index.baseSeq
                // The candidates ascend and so do the records of a run: a cursor walks them together (a
                // `Set` of a segment's candidates cost a hash a record and the set's building: 5 % of a
                // replay of one account).
                var cursor = candidates.map { Self.lowerBound($0, UInt32(frames[group.first].firstSeq - base)) } ?? 0
                let wants: (UInt64) -> Bool =
                    candidates.map { c in
                        { seq in
                            let ordinal = UInt32(seq - base)
                            while cursor < c.count && c[cursor] < ordinal { cursor += 1 }
                            return cursor < c.count && c[cursor] == ordinal
                        }
                    } ?? { _ in true }
                _ = try BlockReader.forEachRecord(decoded, wants: wants) { seq, layout in
                    guard filter.matches(decoded.bytes, layout, seq: seq) else { return true }
                    let event = EventView(bytes: decoded.bytes, layout: layout, seq: seq)
                    if reverse {
                        matched.append(event)
                        return true
                    }
                    remaining -= 1
                    if try !body(event) || remaining == 0 { stop = true }
                    return !stop
                }
                if reverse {
                    for event in matched.reversed() {
                        remaining -= 1
                        if try !body(event) || remaining == 0 {
                            stop = true
                            break
                        }
                    }
                }
                if stop { return }
            }
        }
    }

    /// The first position of `sorted` whose value is not below `value`.
    static func lowerBound(_ sorted: [UInt32], _ value: UInt32) -> Int {
        var (lo, hi) = (0, sorted.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The events matching `filter`, in seq order (newest first if `reverse`).
    public func events(
        matching filter: EventFilter = .init(), reverse: Bool = false, limit: Int? = nil
    ) throws
        -> [StoredEvent]
    {
        var out: [StoredEvent] = []
        try forEach(matching: filter, reverse: reverse, limit: limit) {
            out.append($0)
            return true
        }
        return out
    }

    /// The event at `seq`, if the archive holds it.
    public func event(seq: UInt64) throws -> StoredEvent? {
        guard let segment = segments.last(where: { $0.index.baseSeq <= seq }), seq < segment.index.endSeq else {
            return nil
        }
        return try BlockReader.event(seq: seq, file: segment.file, frames: segment.index.frames, index: segment.index)
    }

    /// Ordinals the indexes allow for `filter` (ascending), or nil when no indexed field is set.
    static func candidates(_ index: any SegmentIndex, _ filter: EventFilter) -> [UInt32]? {
        var lists: [[UInt32]] = []
        if let a = filter.account { lists.append(index.postings(IndexKey.of(.account, a))) }
        if let s = filter.source { lists.append(index.postings(IndexKey.of(.source, s))) }
        if let e = filter.entity { lists.append(index.postings(IndexKey.of(.entity, e))) }
        if let r = filter.ref { lists.append(index.postings(IndexKey.of(.ref, r))) }
        if let t = filter.type {
            if filter.typeIsGlob {
                let names = index.names(.type).map(\.name).filter { EventFilter.glob(t, matches: $0) }
                lists.append(names.map { index.postings(IndexKey.of(.type, $0)) }.reduce([], merge))
            } else {
                lists.append(index.postings(IndexKey.of(.type, t)))
            }
        }
        guard !lists.isEmpty else { return nil }
        lists.sort { $0.count < $1.count }
        return lists.dropFirst().reduce(lists[0], intersect)
    }

    /// Drops the candidate ordinals outside `afterSeq`/`beforeSeq` (both lists are sorted), so a scan
    /// that resumes after a seq (replay's chunks, `--follow`, `GET /v1/events` paging) decodes only the
    /// blocks still ahead, not the whole segment again.
    static func trim(_ ordinals: [UInt32], _ baseSeq: UInt64, _ filter: EventFilter) -> [UInt32] {
        func firstIndex(atLeast seq: UInt64) -> Int {
            guard seq > baseSeq else { return 0 }
            let ordinal = seq - baseSeq
            return ordinal > UInt64(UInt32.max) ? ordinals.count : lowerBound(ordinals, UInt32(ordinal))
        }
        var lower = 0, upper = ordinals.count
        if let after = filter.afterSeq { lower = firstIndex(atLeast: after + 1) }
        if let before = filter.beforeSeq { upper = firstIndex(atLeast: before) }
        if lower == 0 && upper == ordinals.count { return ordinals }
        return lower < upper ? Array(ordinals[lower..<upper]) : []
    }

    static func intersect(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        var i = 0
        var j = 0
        while i < a.count && j < b.count {
            if a[i] < b[j] {
                i += 1
            } else if a[i] > b[j] {
                j += 1
            } else {
                out.append(a[i])
                i += 1
                j += 1
            }
        }
        return out
    }

    static func merge(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i] < b[j]) {
                out.append(a[i])
                i += 1
            } else if i == a.count || b[j] < a[i] {
                out.append(b[j])
                j += 1
            } else {
                out.append(a[i])
                i += 1
                j += 1
            }
        }
        return out
    }
}
