/// The validating pass behind `JSONTape` (RFC 8259 grammar, strict UTF-8).
///
/// It reads the body through an `UnsafeBufferPointer` (valid for the duration of `JSONTape.init`'s
/// `withUnsafeBufferPointer`) because it is the ingest hot path: every read below is behind an explicit
/// `i < bytes.count` check, so the buffer's unchecked subscript drops only the second check an `Array`
/// would make. Tokens go into a buffer it grows itself (`TokenBuffer`), not an `Array` passed `inout`
/// down the recursion, whose every append paid a uniqueness and a capacity check in a call: with the
/// 8-byte string scan below, the tape went from 264 to 317–339 MB/s on the benchmark's Orderspace bodies
/// (`hooklog-loadgen extract`; JSONSerialization: 18 MB/s), and the token buffer took it up by another 11 %.
/// `fuzz/` (fuzz-json) runs it under ASan.
struct JSONParser: ~Copyable {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var i = 0
    /// The tokens found so far, in document order.
    var tokens: TokenBuffer

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        tokens = TokenBuffer(capacity: bytes.count / 8 + 16)
    }

    typealias Failure = JSONTape.Failure

    private func fail(_ reason: String, at offset: Int? = nil) -> Failure {
        Failure(reason: reason, offset: offset ?? i)
    }

    /// Records a scalar that spans `start..<i`; its subtree ends at the next token.
    @inline(__always)
    private mutating func scalar(_ kind: JSONTape.Kind, from start: Int, escaped: Bool = false) {
        let n = tokens.count
        tokens.append(
            JSONTape.Token(start: Int32(truncatingIfNeeded: start), end: Int32(truncatingIfNeeded: i),
                next: Int32(truncatingIfNeeded: n + 1), kind: kind, escaped: escaped))
    }

    mutating func skipSpace() throws(Failure) {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(Failure) {
        guard i < bytes.count else { throw fail(bytes.isEmpty ? "empty body" : "unexpected end of JSON") }
        switch bytes[i] {
        case UInt8(ascii: "{"): try container(object: true, depth: depth)
        case UInt8(ascii: "["): try container(object: false, depth: depth)
        case UInt8(ascii: "\""):
            let start = i
            let escaped = try string()
            scalar(.string, from: start, escaped: escaped)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = i
            try number()
            scalar(.number, from: start)
        case UInt8(ascii: "t"): try literal("true", .true)
        case UInt8(ascii: "f"): try literal("false", .false)
        case UInt8(ascii: "n"): try literal("null", .null)
        default:
            throw fail("unexpected character '\(Self.printable(bytes[i]))'")
        }
    }

    private static func printable(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7f ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16)
    }

    private mutating func literal(_ word: StaticString, _ kind: JSONTape.Kind) throws(Failure) {
        let start = i
        let n = word.utf8CodeUnitCount
        guard bytes.count - i >= n else { throw fail("unexpected end of JSON") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw fail("invalid literal", at: i + k) }
        i += n
        scalar(kind, from: start)
    }

    private mutating func container(object: Bool, depth: Int) throws(Failure) {
        guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth) levels") }
        let index = tokens.count
        tokens.append(
            JSONTape.Token(start: Int32(truncatingIfNeeded: i), end: 0, next: 0, kind: object ? .object : .array, escaped: false))
        i += 1
        try skipSpace()
        let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
        if i < bytes.count && bytes[i] == close {
            i += 1
        } else {
            while true {
                if object {
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                        throw fail(i < bytes.count ? "expected a member name in quotes" : "unexpected end of JSON")
                    }
                    try value(depth: depth + 1)
                    try skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else {
                        throw fail(i < bytes.count ? "expected ':' after a member name" : "unexpected end of JSON")
                    }
                    i += 1
                    try skipSpace()
                }
                try value(depth: depth + 1)
                try skipSpace()
                guard i < bytes.count else { throw fail("unexpected end of JSON") }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    try skipSpace()
                    continue
                }
                guard bytes[i] == close else { throw fail("expected ',' or '\(object ? "}" : "]")'") }
                i += 1
                break
            }
        }
        tokens.close(index, end: Int32(truncatingIfNeeded: i), next: Int32(truncatingIfNeeded: tokens.count))
    }

    /// Scans a string from its opening quote; returns whether it holds escapes.
    private mutating func string() throws(Failure) -> Bool {
        i += 1
        var escaped = false
        while i < bytes.count {
            skipPlainASCII()
            guard i < bytes.count else { break }
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                i += 1
                return escaped
            case UInt8(ascii: "\\"):
                escaped = true
                guard i + 1 < bytes.count else { throw fail("unexpected end of JSON") }
                switch bytes[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    guard i + 6 <= bytes.count, bytes[(i + 2)..<(i + 6)].allSatisfy(Self.isHex) else {
                        throw fail("invalid \\u escape")
                    }
                    i += 6
                default:
                    throw fail("invalid escape")
                }
            case 0..<0x20:
                throw fail("control character in a string")
            case 0x20..<0x80:
                i += 1  // only in the last 7 bytes of the body: skipPlainASCII stops at no such byte before
            default:
                try utf8Sequence()
            }
        }
        throw fail("unterminated string")
    }

    /// Moves `i` to the first string byte that needs attention (a `"`, a `\`, a byte below 0x20 or one
    /// of 0x80 and above), 8 bytes at a time, or to within 8 bytes of the end. Most of a webhook's text
    /// is plain ASCII: each 8-byte word is tested at once (SWAR, the "has a zero byte" test of each
    /// condition, which never misses a flagged byte and is exact for the lowest one, so the trailing zero
    /// count of the flags is the offset of the first byte to look at).
    @inline(__always)
    private mutating func skipPlainASCII() {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        guard let base = bytes.baseAddress else { return }
        var j = i
        let n = bytes.count
        while n - j >= 8 {
            let w = UInt64(littleEndian: UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self))  // byte 0 lowest
            let quote = w ^ (ones &* 0x22)
            let backslash = w ^ (ones &* 0x5C)
            let flagged =
                (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)  // a `"` or a `\`
                    | ((w &- ones &* 0x20) & ~w)  // a byte below 0x20
                    | w) & highs  // a byte ≥ 0x80 (its high bit)
            if flagged != 0 {
                j += flagged.trailingZeroBitCount >> 3
                break
            }
            j += 8
        }
        i = j
    }

    private static func isHex(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 70) || (b >= 97 && b <= 102)
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, no surrogates, ≤ U+10FFFF).
    private mutating func utf8Sequence() throws(Failure) {
        let b0 = bytes[i]
        let (length, low, high): (Int, UInt8, UInt8)
        switch b0 {
        case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
        case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE, 0xEF: (length, low, high) = (3, 0x80, 0xBF)
        case 0xED: (length, low, high) = (3, 0x80, 0x9F)
        case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
        case 0xF4: (length, low, high) = (4, 0x80, 0x8F)
        default: throw fail("invalid UTF-8")
        }
        guard i + length <= bytes.count, bytes[i + 1] >= low, bytes[i + 1] <= high else { throw fail("invalid UTF-8") }
        for k in 2..<max(2, length) where bytes[i + k] < 0x80 || bytes[i + k] > 0xBF { throw fail("invalid UTF-8") }
        i += length
    }

    private mutating func number() throws(Failure) {
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 else { throw fail("invalid number") }
        if bytes[i] == 48 {
            i += 1
        } else {
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 else { throw fail("invalid number") }
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 else { throw fail("invalid number") }
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
        }
    }

    /// Decodes the inside of a validated string with escapes.
    static func unescape(_ bytes: [UInt8], _ range: Range<Int>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        func hex4(_ at: Int) -> UInt32 {
            bytes[at..<(at + 4)].reduce(0) { acc, b in
                acc << 4 | UInt32(b >= 97 ? b - 87 : b >= 65 ? b - 55 : b - 48)
            }
        }
        func append(_ scalar: UInt32) {
            let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
            out.append(contentsOf: Array(String(Character(s)).utf8))
        }
        while i < range.upperBound {
            let b = bytes[i]
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i += 1
                continue
            }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(i)
                i += 4
                if (0xD800..<0xDC00).contains(scalar), i + 6 <= range.upperBound, bytes[i] == UInt8(ascii: "\\"),
                    bytes[i + 1] == UInt8(ascii: "u")
                {
                    let low = hex4(i + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                append(scalar)
            default: out.append(e)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
