/// The 64-bit keys under which events are indexed.
///
/// A key is a hash of a kind byte and the key's text, so that one sorted table serves every index and a
/// lookup is one binary search. The hash is FNV-1a with a SplitMix finaliser: stable across processes and
/// versions (it is written to disk), unlike Swift's seeded `Hasher`. A collision only ever costs a wasted
/// read: every candidate is checked against the event itself before it is returned or deduplicated.
enum IndexKey {
    enum Kind: UInt8, Sendable, CaseIterable {
        case account = 1
        case source = 2
        case type = 3
        case entity = 4
        /// The entity and every ref: "an order's whole story" is one lookup.
        case ref = 5
        /// (account, source, event ID): redelivery detection.
        case id = 6
        /// (account, source, request-body digest): retries of ID-less requests.
        case digest = 7
    }

    struct Builder {
        private var h: UInt64 = 0xcbf2_9ce4_8422_2325

        init(_ kind: Kind) { add(byte: kind.rawValue) }

        @inline(__always)
        mutating func add(byte: UInt8) {
            h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }

        mutating func add(_ bytes: [UInt8], _ range: Range<Int>) {
            for i in range { add(byte: bytes[i]) }
            add(byte: 0xff)  // never in UTF-8: parts cannot run into each other
        }

        mutating func add(_ bytes: [UInt8]) { add(bytes, 0..<bytes.count) }

        mutating func add(_ string: String) {
            var s = string
            s.withUTF8 { for b in $0 { add(byte: b) } }
            add(byte: 0xff)
        }

        func finish() -> UInt64 {
            var z = h &+ 0x9e37_79b9_7f4a_7c15
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    static func of(_ kind: Kind, _ text: String) -> UInt64 {
        var b = Builder(kind)
        b.add(text)
        return b.finish()
    }

    static func id(account: String, source: String, id: String) -> UInt64 {
        var b = Builder(.id)
        b.add(account)
        b.add(source)
        b.add(id)
        return b.finish()
    }

    static func digest(account: String, source: String, digest: [UInt8]) -> UInt64 {
        var b = Builder(.digest)
        b.add(account)
        b.add(source)
        b.add(digest)
        return b.finish()
    }
}

/// A Bloom filter over the dedupe keys (event IDs, body digests) of a sealed segment, so that checking a
/// new event against years of segments costs a few bit tests per segment, not a search in each.
struct BloomFilter: Sendable {
    static let hashes = 7
    static let bitsPerKey = 10

    var words: [UInt64]

    init(keys: [UInt64]) {
        let bits = max(64, keys.count * Self.bitsPerKey)
        words = [UInt64](repeating: 0, count: (bits + 63) / 64)
        for key in keys { insert(key) }
    }

    var bitCount: Int { words.count * 64 }

    mutating func insert(_ key: UInt64) {
        let n = UInt64(bitCount)
        let h1 = key & 0xffff_ffff
        let h2 = (key >> 32) | 1
        for i in 0..<UInt64(Self.hashes) {
            let bit = (h1 &+ i &* h2) % n
            words[Int(bit / 64)] |= 1 << (bit % 64)
        }
    }

    /// Tests the bits in place in a mapped file, without copying the filter.
    static func mightContain(_ key: UInt64, wordCount: Int, word: (Int) -> UInt64) -> Bool {
        let n = UInt64(wordCount * 64)
        guard n > 0 else { return false }
        let h1 = key & 0xffff_ffff
        let h2 = (key >> 32) | 1
        for i in 0..<UInt64(Self.hashes) {
            let bit = (h1 &+ i &* h2) % n
            if word(Int(bit / 64)) & (1 << (bit % 64)) == 0 { return false }
        }
        return true
    }
}
