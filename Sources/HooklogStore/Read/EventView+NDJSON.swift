#if canImport(Glibc)
import Glibc
#endif

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
    ///
    /// Runs of bytes that need no escaping are copied whole: names and IDs rarely hold any.
    public static func appendString(_ bytes: [UInt8], _ range: Range<Int>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        bytes.withUnsafeBufferPointer { src in
            var run = range.lowerBound
            for i in range {
                let b = src[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: src[run..<i])) }
                run = i + 1
                switch b {
                case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default: out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
                }
            }
            if run < range.upperBound { out.append(contentsOf: UnsafeBufferPointer(rebasing: src[run..<range.upperBound])) }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends a string as a JSON string literal.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        let bytes = Array(s.utf8)
        appendString(bytes, 0..<bytes.count, to: &out)
    }

    /// Appends the JSON text in `bytes[range]` without the whitespace outside its strings.
    ///
    /// `bytes[range]` must be valid JSON (every payload was validated on ingest). Hand-written for
    /// export's hot path: strings are skipped with `memchr` to their closing quote and everything between
    /// whitespace runs is copied whole, several times faster than a byte-at-a-time state machine
    /// (`appendMinifiedReference`, which the property tests compare it with).
    public static func appendMinified(_ bytes: [UInt8], _ range: Range<Int>, to out: inout [UInt8]) {
        guard !range.isEmpty else { return }
        // The output is never longer than the input: make room once, write in place, trim the rest
        // (many short `append(contentsOf:)` calls cost more than the copying itself).
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: range.count))
        let written = bytes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                minify(src.baseAddress!, range, into: dst.baseAddress! + start)
            }
        }
        out.removeLast(range.count - written)
    }

    /// Copies `src[range]` to `dst` without the whitespace outside strings; returns the bytes written.
    private static func minify(_ base: UnsafePointer<UInt8>, _ range: Range<Int>, into dst: UnsafeMutablePointer<UInt8>) -> Int {
        let end = range.upperBound
        var i = range.lowerBound
        var run = i
        var o = 0
        func flush(_ upTo: Int) {
            let n = upTo - run
            if n > 0 {
                (dst + o).update(from: base + run, count: n)
                o += n
            }
        }
        while i < end {
            let b = base[i]
            if b == UInt8(ascii: "\"") {
                // To the closing quote: the first one not escaped by an odd number of backslashes.
                var j = i + 1
                while j < end {
                    guard let hit = memchr(base + j, Int32(UInt8(ascii: "\"")), end - j) else {
                        j = end
                        break
                    }
                    let q = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
                    var backslashes = 0
                    var k = q - 1
                    while k > i && base[k] == UInt8(ascii: "\\") {
                        backslashes += 1
                        k -= 1
                    }
                    j = q + 1
                    if backslashes % 2 == 0 { break }
                }
                i = j
            } else if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 {
                flush(i)
                i += 1
                while i < end, base[i] == 0x20 || base[i] == 0x0A || base[i] == 0x0D || base[i] == 0x09 { i += 1 }
                run = i
            } else {
                i += 1
            }
        }
        flush(end)
        return o
    }

    /// The plain byte-at-a-time minifier: the specification `appendMinified` is tested against.
    public static func appendMinifiedReference(_ bytes: [UInt8], _ range: Range<Int>, to out: inout [UInt8]) {
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
