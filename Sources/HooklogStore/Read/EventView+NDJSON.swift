/// The contract's `--format ndjson` line for an event: exactly the keys `seq`, `received_at`, `account`,
/// `source`, `type`, `entity`, `refs`, `id`, `payload`, with the payload embedded as JSON and its
/// whitespace outside strings dropped so the object fits on one line.
extension EventView {
    /// Appends the event's NDJSON object (without the newline) to `out`.
    public func appendNDJSON(to out: inout [UInt8]) {
        out.append(contentsOf: #"{"seq":"#.utf8)
        out.append(contentsOf: String(seq).utf8)
        out.append(contentsOf: #","received_at":""#.utf8)
        RFC3339.append(micros: receivedAtMicros, to: &out)
        out.append(contentsOf: #"","account":"#.utf8)
        JSONText.appendString(bytes, layout.account, to: &out)
        out.append(contentsOf: #","source":"#.utf8)
        JSONText.appendString(bytes, layout.source, to: &out)
        out.append(contentsOf: #","type":"#.utf8)
        JSONText.appendString(bytes, layout.type, to: &out)
        out.append(contentsOf: #","entity":"#.utf8)
        if let e = layout.entity { JSONText.appendString(bytes, e, to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: #","refs":["#.utf8)
        var first = true
        RecordCodec.forEachRef(bytes, layout) { r in
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONText.appendString(bytes, r, to: &out)
        }
        out.append(contentsOf: #"],"id":"#.utf8)
        if let i = layout.id { JSONText.appendString(bytes, i, to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: #","payload":"#.utf8)
        JSONText.appendMinified(bytes, layout.payload, to: &out)
        out.append(UInt8(ascii: "}"))
    }
}

/// Byte-level JSON helpers for output: hand-written because they run once per event on export's hot
/// path, where going through `JSONSerialization` would re-parse and re-order every payload.
public enum JSONText {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `bytes[range]` (UTF-8) as a JSON string literal.
    public static func appendString(_ bytes: [UInt8], _ range: Range<Int>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for i in range {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20: out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends a string as a JSON string literal.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        let bytes = Array(s.utf8)
        appendString(bytes, 0..<bytes.count, to: &out)
    }

    /// Appends the JSON text in `bytes[range]` without the whitespace outside its strings.
    public static func appendMinified(_ bytes: [UInt8], _ range: Range<Int>, to out: inout [UInt8]) {
        var inString = false
        var escaped = false
        for i in range {
            let b = bytes[i]
            if inString {
                out.append(b)
                if escaped {
                    escaped = false
                } else if b == UInt8(ascii: "\\") {
                    escaped = true
                } else if b == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "\""):
                inString = true
                out.append(b)
            default: out.append(b)
            }
        }
    }
}
