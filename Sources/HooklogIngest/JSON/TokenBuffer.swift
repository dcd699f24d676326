/// The growing token list of one parse: a raw buffer the parser owns for the parse and hands over whole.
///
/// Hand-written because it is the ingest hot path: an `Array` passed `inout` down the parser's recursion
/// paid, on every append, a call with a uniqueness check and a capacity check; here an append is a
/// compare and a store (the buffer doubles when full, which a body's first estimate makes rare).
/// Non-copyable, so the buffer has one owner and is freed exactly once.
struct TokenBuffer: ~Copyable {
    private var base: UnsafeMutablePointer<JSONTape.Token>
    private var capacity: Int
    /// Tokens written so far.
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    mutating func append(_ token: JSONTape.Token) {
        if count == capacity { grow() }
        (base + count).initialize(to: token)
        count += 1
    }

    /// Sets the end and the after-subtree index of the container opened at `index` (< `count`).
    @inline(__always)
    mutating func close(_ index: Int, end: Int32, next: Int32) {
        precondition(index < count)
        base[index].end = end
        base[index].next = next
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<JSONTape.Token>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
    }

    /// The tokens as an array (one copy; the buffer is freed after).
    consuming func array() -> [JSONTape.Token] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }
}
