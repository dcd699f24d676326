/// The in-memory postings of a segment: 64-bit key → ascending event ordinals.
///
/// Hand-written instead of `[UInt64: [UInt32]]` because the writer updates it for every event on the hot
/// path: an open-addressing table over the already-hashed keys (no SipHash), and every posting in one
/// arena, chained per key — no allocation per key, 8 bytes per posting, ~24 per key. Measured on the
/// append path it removed most of the indexing cost (dictionary lookups, retain/release, array growth).
struct PostingTable: Sendable {
    private var keys: [UInt64]
    /// Per slot: arena index of the first and last posting (+1; 0 = empty), and the posting count.
    private var heads: [UInt32]
    private var tails: [UInt32]
    private var counts: [UInt32]
    /// Arena: low 32 bits the ordinal, high 32 bits the arena index + 1 of the next posting (0 = last).
    private var arena: [UInt64] = []
    /// Distinct keys.
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        keys = [UInt64](repeating: 0, count: n)
        heads = [UInt32](repeating: 0, count: n)
        tails = [UInt32](repeating: 0, count: n)
        counts = [UInt32](repeating: 0, count: n)
    }

    /// Key 0 marks an empty slot; a real key of 0 is stored as 1 (a collision the caller resolves anyway).
    @inline(__always)
    private static func normalize(_ key: UInt64) -> UInt64 { key == 0 ? 1 : key }

    @inline(__always)
    private func slot(of key: UInt64) -> Int {
        let mask = keys.count - 1
        var i = Int(truncatingIfNeeded: key) & mask
        while keys[i] != 0 && keys[i] != key { i = (i + 1) & mask }
        return i
    }

    /// Adds `ordinal` under `key` unless it is already the key's last posting.
    /// - Returns: true if the key was new.
    @discardableResult
    mutating func append(_ rawKey: UInt64, _ ordinal: UInt32) -> Bool {
        let key = Self.normalize(rawKey)
        var i = slot(of: key)
        let isNew = keys[i] == 0
        if isNew {
            if (count + 1) * 10 > keys.count * 7 {
                grow()
                i = slot(of: key)
            }
            keys[i] = key
            count += 1
        } else if UInt32(truncatingIfNeeded: arena[Int(tails[i]) - 1]) == ordinal {
            return false
        }
        arena.append(UInt64(ordinal))
        let index = UInt32(arena.count)
        if isNew {
            heads[i] = index
        } else {
            let t = Int(tails[i]) - 1
            arena[t] |= UInt64(index) << 32
        }
        tails[i] = index
        counts[i] += 1
        return isNew
    }

    private mutating func grow() {
        let old = (keys, heads, tails, counts)
        let n = keys.count * 2
        keys = [UInt64](repeating: 0, count: n)
        heads = [UInt32](repeating: 0, count: n)
        tails = [UInt32](repeating: 0, count: n)
        counts = [UInt32](repeating: 0, count: n)
        for j in 0..<old.0.count where old.0[j] != 0 {
            let i = slot(of: old.0[j])
            keys[i] = old.0[j]
            heads[i] = old.1[j]
            tails[i] = old.2[j]
            counts[i] = old.3[j]
        }
    }

    func contains(_ key: UInt64) -> Bool { keys[slot(of: Self.normalize(key))] != 0 }

    func postingCount(_ key: UInt64) -> Int { Int(counts[slot(of: Self.normalize(key))]) }

    /// The key's ordinals, ascending.
    func postings(_ key: UInt64) -> [UInt32] {
        let i = slot(of: Self.normalize(key))
        guard keys[i] != 0 else { return [] }
        var out: [UInt32] = []
        out.reserveCapacity(Int(counts[i]))
        var next = Int(heads[i])
        while next != 0 {
            let e = arena[next - 1]
            out.append(UInt32(truncatingIfNeeded: e))
            next = Int(e >> 32)
        }
        return out
    }

    /// Every key, unordered.
    var allKeys: [UInt64] { keys.filter { $0 != 0 } }

    /// The keys in ascending order, each with its slot.
    ///
    /// Keys are hashes, spread evenly: a counting pass on their top 16 bits puts them in 65,536 buckets
    /// of about count/65,536 keys, each then put in order by insertion (a bucket holding more, should
    /// keys ever bunch, is sorted by the standard library). Sequential passes and small local sorts:
    /// `allKeys.sorted()` and a hash probe for each key's slot took 2.5 times as long.
    private func sortedKeysAndSlots() -> (keys: [UInt64], slots: [UInt32]) {
        let buckets = 1 << 16
        var bucketStart = [Int](repeating: 0, count: buckets + 1)
        var sortedKeys = [UInt64](repeating: 0, count: count)
        var sortedSlots = [UInt32](repeating: 0, count: count)
        keys.withUnsafeBufferPointer { keys in
            bucketStart.withUnsafeMutableBufferPointer { start in
                for k in keys where k != 0 { start[Int(k >> 48) + 1] += 1 }
                for b in 0..<buckets { start[b + 1] += start[b] }
                var fill = Array(start[0..<buckets])
                sortedKeys.withUnsafeMutableBufferPointer { out in
                    sortedSlots.withUnsafeMutableBufferPointer { outSlots in
                        fill.withUnsafeMutableBufferPointer { fill in
                            for s in 0..<keys.count where keys[s] != 0 {
                                let b = Int(keys[s] >> 48)
                                out[fill[b]] = keys[s]
                                outSlots[fill[b]] = UInt32(truncatingIfNeeded: s)
                                fill[b] += 1
                            }
                        }
                        for b in 0..<buckets {
                            let lo = start[b]
                            let hi = start[b + 1]
                            if hi - lo <= 1 { continue }
                            if hi - lo <= 64 {
                                for i in (lo + 1)..<hi {
                                    let key = out[i]
                                    let slot = outSlots[i]
                                    var j = i
                                    while j > lo && out[j - 1] > key {
                                        out[j] = out[j - 1]
                                        outSlots[j] = outSlots[j - 1]
                                        j -= 1
                                    }
                                    out[j] = key
                                    outSlots[j] = slot
                                }
                            } else {
                                let pairs = (lo..<hi).map { (out[$0], outSlots[$0]) }.sorted { $0.0 < $1.0 }
                                for (i, pair) in pairs.enumerated() {
                                    out[lo + i] = pair.0
                                    outSlots[lo + i] = pair.1
                                }
                            }
                        }
                    }
                }
            }
        }
        return (sortedKeys, sortedSlots)
    }

    /// Every key in ascending order with its ordinals, ascending: what an index file is written from.
    ///
    /// Hand-written for speed (the sealing of every segment waits on it): `postings(_:)` for each key
    /// follows the key's chain through the arena, a cache miss or more a posting, one after the other.
    /// That was three quarters of the CPU of writing a 400k-event segment's index (a second, taken from
    /// ingest). Here the arena is read once, in order, and each posting dropped into its key's place
    /// (a bucket sort by key rank): the misses are independent, so the processor overlaps them. With the
    /// keys put in order by `sortedKeysAndSlots`, encoding that index went from 817-1333 ms to about 200.
    func sorted() -> SortedPostings {
        let (sorted, slots) = sortedKeysAndSlots()
        // Where each rank's ordinals start in `ordinals`, and (once filled) end. `UInt32`: an arena index
        // is one (see `arena`), so a posting count fits.
        var start = [UInt32](repeating: 0, count: sorted.count + 1)
        // For each arena entry, the rank of its key: set for the first entry of each chain here, and
        // passed down each chain as the arena is read (a chain only ever points forward).
        var rankOf = [UInt32](repeating: 0, count: arena.count)
        var total: UInt32 = 0
        for rank in sorted.indices {
            let s = Int(slots[rank])
            start[rank] = total
            total += counts[s]
            rankOf[Int(heads[s]) - 1] = UInt32(rank)
        }
        start[sorted.count] = total
        var ordinals = [UInt32](repeating: 0, count: Int(total))
        var cursor = start
        arena.withUnsafeBufferPointer { arena in
            rankOf.withUnsafeMutableBufferPointer { rankOf in
                ordinals.withUnsafeMutableBufferPointer { out in
                    cursor.withUnsafeMutableBufferPointer { cursor in
                        for e in 0..<arena.count {
                            let entry = arena[e]
                            let rank = Int(rankOf[e])
                            let next = Int(truncatingIfNeeded: entry >> 32)
                            if next != 0 { rankOf[next - 1] = UInt32(truncatingIfNeeded: rank) }
                            out[Int(cursor[rank])] = UInt32(truncatingIfNeeded: entry)
                            cursor[rank] += 1
                        }
                    }
                }
            }
        }
        return SortedPostings(keys: sorted, starts: start, ordinals: ordinals)
    }
}

/// A posting table's keys in ascending order, with every key's ordinals (ascending) one key after the
/// other: `PostingTable.sorted()`.
struct SortedPostings: Sendable {
    /// The keys, ascending.
    let keys: [UInt64]
    /// Key `k`'s ordinals are `ordinals[starts[k]..<starts[k + 1]]`.
    let starts: [UInt32]
    let ordinals: [UInt32]

    /// The ordinals of the `rank`-th key.
    func list(_ rank: Int) -> ArraySlice<UInt32> { ordinals[Int(starts[rank])..<Int(starts[rank + 1])] }

    /// Each key's ordinals as an index file stores them, key after key: the first ordinal, then the
    /// difference from the one before (`body(rank, delta)`). The index encoder walks them twice, to size
    /// the postings and to write them.
    @inline(__always)
    func forEachDelta(_ body: (_ rank: Int, _ delta: UInt32) -> Void) {
        ordinals.withUnsafeBufferPointer { ordinals in
            for rank in keys.indices {
                let first = Int(starts[rank])
                var previous: UInt32 = 0
                for i in first..<Int(starts[rank + 1]) {
                    body(rank, i == first ? ordinals[i] : ordinals[i] - previous)
                    previous = ordinals[i]
                }
            }
        }
    }
}
