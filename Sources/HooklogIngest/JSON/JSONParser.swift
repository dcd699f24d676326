import CJSONTape

/// The validating pass behind `JSONTape` (RFC 8259 grammar, strict UTF-8), and the decoding of strings
/// with escapes.
///
/// The pass itself is C (`CJSONTape`, json_tape.c) because it is the ingest hot path. The same
/// recursive descent in Swift went from 264 to 317–339 MB/s with an 8-byte string scan and to about 430
/// with a token buffer of its own, and stayed there: its position went through `inout self` and every
/// step was behind a trap check. The C version, with a 16-byte SSE2 string scan and strings and numbers
/// tested before the jump table, runs at about 530 MB/s over the same bodies (the benchmark's Orderspace
/// batches, one thread; JSONSerialization: 18 MB/s). The rules, the error messages and their offsets are
/// those of the Swift parser (checked on 59,000 mutated documents, and pinned by JSONTapeTests);
/// `fuzz/` runs the C alone under ASan (fuzz-tape) and, through this tape, against Foundation (fuzz-json).
enum JSONParser {
    typealias Failure = JSONTape.Failure

    /// Validates `bytes` and returns its tokens, or why it is not one JSON document.
    static func tokens(of bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) -> Result<JSONTokens, Failure> {
        var result = hooklog_json_result()
        hooklog_json_tape(bytes.baseAddress, bytes.count, Int32(clamping: maxDepth), bytes.count / 8 + 16, &result)
        guard result.error == HOOKLOG_JSON_OK else {
            hooklog_json_free(result.tokens)
            return .failure(failure(Int(result.error), at: result.error_offset, in: bytes, maxDepth: maxDepth))
        }
        return .success(JSONTokens(taking: result.tokens, count: result.count))
    }

    /// The words of each refusal the C pass reports.
    private static func failure(
        _ code: Int, at offset: Int, in bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int
    ) -> Failure {
        let reason: String
        switch code {
        case Int(HOOKLOG_JSON_EMPTY): reason = "empty body"
        case Int(HOOKLOG_JSON_END): reason = "unexpected end of JSON"
        case Int(HOOKLOG_JSON_UNEXPECTED):
            reason =
                offset < bytes.count ? "unexpected character '\(printable(bytes[offset]))'" : "unexpected character"
        case Int(HOOKLOG_JSON_BAD_LITERAL): reason = "invalid literal"
        case Int(HOOKLOG_JSON_TOO_DEEP): reason = "nesting deeper than \(maxDepth) levels"
        case Int(HOOKLOG_JSON_EXPECTED_NAME): reason = "expected a member name in quotes"
        case Int(HOOKLOG_JSON_EXPECTED_COLON): reason = "expected ':' after a member name"
        case Int(HOOKLOG_JSON_EXPECTED_OBJECT_END): reason = "expected ',' or '}'"
        case Int(HOOKLOG_JSON_EXPECTED_ARRAY_END): reason = "expected ',' or ']'"
        case Int(HOOKLOG_JSON_BAD_U_ESCAPE): reason = "invalid \\u escape"
        case Int(HOOKLOG_JSON_BAD_ESCAPE): reason = "invalid escape"
        case Int(HOOKLOG_JSON_CONTROL): reason = "control character in a string"
        case Int(HOOKLOG_JSON_UNTERMINATED): reason = "unterminated string"
        case Int(HOOKLOG_JSON_BAD_UTF8): reason = "invalid UTF-8"
        case Int(HOOKLOG_JSON_BAD_NUMBER): reason = "invalid number"
        case Int(HOOKLOG_JSON_TRAILING): reason = "unexpected data after the JSON value"
        case Int(HOOKLOG_JSON_NO_MEMORY): reason = "out of memory for a document of \(bytes.count) bytes"
        default: reason = "invalid JSON"
        }
        return Failure(reason: reason, offset: offset)
    }

    private static func printable(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7f ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16)
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
