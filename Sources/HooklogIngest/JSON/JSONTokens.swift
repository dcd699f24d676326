import CJSONTape

/// The tokens of one parsed document, in the buffer the C pass filled (freed with the last tape that
/// shares it).
///
/// Kept as the C pass left them rather than copied into an `Array`: a 38 KB Orderspace batch has about
/// 4,000 tokens, and the copy would be one more allocation and 64 KB of memory traffic per request.
final class JSONTokens: @unchecked Sendable {
    // @unchecked: the buffer is written only before `init` returns, then only read.
    private let base: UnsafeMutablePointer<hooklog_json_token>?
    /// How many tokens there are.
    let count: Int

    /// Takes ownership of `count` tokens at `base` (allocated by `hooklog_json_tape`).
    init(taking base: UnsafeMutablePointer<hooklog_json_token>?, count: Int) {
        self.base = base
        self.count = count
    }

    deinit { hooklog_json_free(base) }

    /// The token at `i` (`0..<count`: anything else traps, as an array would).
    @inline(__always)
    subscript(i: Int) -> JSONTape.Token {
        precondition(i >= 0 && i < count, "token index out of range")
        let t = base.unsafelyUnwrapped[i]
        return JSONTape.Token(
            start: t.start, end: t.end, next: t.next, kind: JSONTape.Kind(rawValue: t.kind) ?? .null,
            escaped: t.escaped != 0)
    }
}
