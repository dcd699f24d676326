/// A validated JSON document as a flat tape of tokens over the original bytes.
///
/// Hand-written because it is the ingest hot path and the product's contract: one pass validates the
/// whole body (grammar, UTF-8, nesting depth) and records where every value lies, without building
/// strings or dictionaries; the extractors then read just the fields they need (type, entity, ids), and
/// each event keeps its bytes exactly as received. It is the unit the fuzzing targets exercise.
public struct JSONTape: Sendable {
    /// The kind of a JSON value.
    public enum Kind: UInt8, Sendable {
        case object, array, string, number, `true`, `false`, null
    }

    /// One value (as read from the C pass's `hooklog_json_token`).
    struct Token: Sendable {
        /// First byte of the value (the quote of a string, the bracket of a container).
        var start: Int32
        /// One past its last byte.
        var end: Int32
        /// The token index after this value's whole subtree.
        var next: Int32
        var kind: Kind
        /// A string containing backslash escapes (it must be decoded, not just sliced).
        var escaped: Bool
    }

    /// Why a body is not acceptable JSON.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong.
        public var reason: String
        /// The byte offset where it was found.
        public var offset: Int
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// The document's bytes, as received.
    public let bytes: [UInt8]
    let tokens: JSONTokens

    /// The root value's index.
    public var root: Int { 0 }

    /// Validates `bytes` and builds its tape.
    ///
    /// - Parameter maxDepth: deeper nesting is refused (no webhook needs it; unbounded nesting is a
    ///   classic way to exhaust a parser's stack).
    public init(parsing bytes: [UInt8], maxDepth: Int = 128) throws(Failure) {
        // Offsets are kept as Int32: a bigger document is refused before anything is read.
        guard bytes.count < Int(Int32.max) else {
            throw Failure(reason: "a JSON document of \(bytes.count) bytes is over the 2 GiB limit", offset: 0)
        }
        self.bytes = bytes
        tokens = try bytes.withUnsafeBufferPointer { JSONParser.tokens(of: $0, maxDepth: maxDepth) }.get()
    }

    // MARK: Navigation

    /// The kind of the value at `i`.
    public func kind(_ i: Int) -> Kind { tokens[i].kind }

    /// The bytes of the value at `i`, exactly as received.
    public func range(_ i: Int) -> Range<Int> { Int(tokens[i].start)..<Int(tokens[i].end) }

    /// The elements of the array at `i` (empty for any other kind).
    public func elements(_ i: Int) -> [Int] {
        guard tokens[i].kind == .array else { return [] }
        var out: [Int] = []
        var j = i + 1
        while j < Int(tokens[i].next) {
            out.append(j)
            j = Int(tokens[j].next)
        }
        return out
    }

    /// The (key index, value index) pairs of the object at `i`, in document order.
    public func members(_ i: Int) -> [(key: Int, value: Int)] {
        guard tokens[i].kind == .object else { return [] }
        var out: [(Int, Int)] = []
        var j = i + 1
        while j < Int(tokens[i].next) {
            out.append((j, j + 1))
            j = Int(tokens[j + 1].next)
        }
        return out
    }

    /// The first (key index, value index) pair of the object at `i`: `members(i).first` without the array.
    func firstMember(_ i: Int) -> (key: Int, value: Int)? {
        guard tokens[i].kind == .object, i + 1 < Int(tokens[i].next) else { return nil }
        return (i + 1, i + 2)
    }

    /// The value of member `key` of the object at `i`.
    public func member(_ i: Int, _ key: String) -> Int? { memberValue(i) { stringEquals($0, key) } }

    /// The value of member `key` of the object at `i`: `member(_:_:)` for a name fixed in the code, compared
    /// as bytes without making a `String` (the extractors' hot path).
    func member(_ i: Int, named key: StaticString) -> Int? { memberValue(i) { stringIs($0, key) } }

    /// The value of the first member of the object at `i` whose key (its token index) `matches`.
    @inline(__always)
    private func memberValue(_ i: Int, where matches: (Int) -> Bool) -> Int? {
        guard tokens[i].kind == .object else { return nil }
        var j = i + 1
        while j < Int(tokens[i].next) {
            if matches(j) { return j + 1 }
            j = Int(tokens[j + 1].next)
        }
        return nil
    }

    /// Calls `body` with each element of the array at `i` (none for any other kind), without building
    /// the array `elements(_:)` returns.
    func forEachElement<E: Error>(_ i: Int, _ body: (Int) throws(E) -> Void) throws(E) {
        guard tokens[i].kind == .array else { return }
        var j = i + 1
        while j < Int(tokens[i].next) {
            try body(j)
            j = Int(tokens[j].next)
        }
    }

    /// Whether the value at `i` is a string whose text is `text` (an escaped string is decoded first).
    func stringIs(_ i: Int, _ text: StaticString) -> Bool {
        decodesTo(i, UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Whether the value at `i` is a string that decodes to exactly the UTF-8 bytes `k`: member names
    /// compare code unit by code unit (RFC 8259 §8.3), escaped or not.
    private func decodesTo(_ i: Int, _ k: UnsafeBufferPointer<UInt8>) -> Bool {
        let t = tokens[i]
        guard t.kind == .string else { return false }
        if t.escaped { return string(i).map { $0.utf8.elementsEqual(k) } ?? false }
        let inner = (Int(t.start) + 1)..<(Int(t.end) - 1)
        guard k.count == inner.count else { return false }
        return bytes.withUnsafeBufferPointer { b in
            var n = inner.lowerBound
            for c in k {
                if b[n] != c { return false }
                n += 1
            }
            return true
        }
    }

    /// Follows a JSON pointer (RFC 6901: `/data/object/id`, `/items/0/sku`, `~1` for `/`, `~0` for `~`).
    public func pointer(_ path: String, from start: Int = 0) -> Int? {
        if path.isEmpty { return start }
        guard path.hasPrefix("/") else { return nil }
        var at = start
        for raw in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let part = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch tokens[at].kind {
            case .object:
                guard let next = member(at, part) else { return nil }
                at = next
            case .array:
                guard let n = Int(part), n >= 0 else { return nil }
                let items = elements(at)
                guard n < items.count else { return nil }
                at = items[n]
            default:
                return nil
            }
        }
        return at
    }

    /// The decoded text of the string at `i`.
    public func string(_ i: Int) -> String? {
        guard tokens[i].kind == .string else { return nil }
        let inner = (Int(tokens[i].start) + 1)..<(Int(tokens[i].end) - 1)
        if !tokens[i].escaped { return String(decoding: bytes[inner], as: UTF8.self) }
        return JSONParser.unescape(bytes, inner)
    }

    /// A scalar as ID text: a string's text, a number's decimal text as sent (`90417`); nil otherwise.
    public func idText(_ i: Int) -> String? {
        switch tokens[i].kind {
        case .string: return string(i)
        case .number: return String(decoding: bytes[range(i)], as: UTF8.self)
        default: return nil
        }
    }

    private func stringEquals(_ i: Int, _ key: String) -> Bool {
        var key = key
        return key.withUTF8 { decodesTo(i, $0) }
    }
}
