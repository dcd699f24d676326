import CJSONMinify

/// The contract's `--format ndjson` line for an event: exactly the keys `seq`, `received_at`, `account`,
/// `source`, `type`, `entity`, `refs`, `id`, `payload`, with the payload embedded as JSON and its
/// whitespace outside strings dropped so the object fits on one line.
extension EventView {
    /// An upper bound of the bytes `writeNDJSON(to:)` writes for this event.
    ///
    /// The record's fields from `account` to the refs lie together before the payload; escaped, a byte
    /// takes at most 6 (`\u00XX`), and each ref adds two quotes and a comma (its length prefix is at
    /// least one byte of that span, so 9 per byte covers both).
    public var ndjsonCapacity: Int {
        160 + 9 * (layout.payload.lowerBound - layout.account.lowerBound) + layout.payload.count
    }

    /// Writes the event's NDJSON object (without the newline) to `dst`, which must have room for
    /// `ndjsonCapacity` bytes; returns the bytes written.
    ///
    /// Straight into the caller's buffer, because export writes one per event: building each line in an
    /// array of its own and copying it on cost more than the formatting.
    public func writeNDJSON(to dst: UnsafeMutablePointer<UInt8>) -> Int {
        bytes.withUnsafeBufferPointer { src in
            var w = NDJSONCursor(at: dst)
            w.put(#"{"seq":"#)
            w.putDecimal(seq)
            w.put(#","received_at":""#)
            w.p += RFC3339.write(micros: layout.receivedAt, to: w.p)
            w.put(#"","account":"#)
            w.putString(src, layout.account)
            w.put(#","source":"#)
            w.putString(src, layout.source)
            w.put(#","type":"#)
            w.putString(src, layout.type)
            w.put(#","entity":"#)
            if let e = layout.entity { w.putString(src, e) } else { w.put("null") }
            w.put(#","refs":["#)
            var first = true
            RecordCodec.forEachRef(bytes, layout) { r in
                if !first { w.put(",") }
                first = false
                w.putString(src, r)
            }
            w.put(#"],"id":"#)
            if let i = layout.id { w.putString(src, i) } else { w.put("null") }
            w.put(#","payload":"#)
            w.p += hooklog_json_minify(src.baseAddress! + layout.payload.lowerBound, layout.payload.count, w.p)
            w.put("}")
            return w.p - dst
        }
    }

    /// Appends the event's NDJSON object (without the newline) to `out`.
    public func appendNDJSON(to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ndjsonCapacity) { buffer in
            let n = writeNDJSON(to: buffer.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<n]))
        }
    }
}

/// A write position in a buffer known to be large enough (`EventView.ndjsonCapacity`).
struct NDJSONCursor {
    /// The first index from `i` below `end` of a byte a JSON string must escape (a `"`, a `\`, one
    /// below 0x20), or `end`. Eight bytes at a time (SWAR "has a byte equal to / less than" tests, exact
    /// for the lowest flagged byte): names and IDs are short but formatted eight times an event.
    @inline(__always)
    static func plainEnd(_ src: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let base = UnsafeRawPointer(src.baseAddress!)
        var i = start
        while end - i >= 8 {
            let w = UInt64(littleEndian: (base + i).loadUnaligned(as: UInt64.self))
            let quote = w ^ (ones &* 0x22)
            let backslash = w ^ (ones &* 0x5C)
            let flagged =
                (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((w &- ones &* 0x20) & ~w)) & highs
            if flagged != 0 { return i + flagged.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < end {
            let b = src[i]
            if b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { return i }
            i += 1
        }
        return end
    }

    var p: UnsafeMutablePointer<UInt8>

    init(at p: UnsafeMutablePointer<UInt8>) { self.p = p }

    @inline(__always)
    mutating func put(_ s: StaticString) {
        p.update(from: s.utf8Start, count: s.utf8CodeUnitCount)
        p += s.utf8CodeUnitCount
    }

    mutating func putDecimal(_ v: UInt64) {
        var digits = 1
        var x = v
        while x >= 10 {
            x /= 10
            digits += 1
        }
        x = v
        for k in stride(from: digits - 1, through: 0, by: -1) {
            p[k] = UInt8(ascii: "0") + UInt8(x % 10)
            x /= 10
        }
        p += digits
    }

    /// `src[range]` as a JSON string literal: runs that need no escaping are copied whole.
    mutating func putString(_ src: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        p.pointee = UInt8(ascii: "\"")
        p += 1
        var run = range.lowerBound
        var i = range.lowerBound
        while true {
            i = Self.plainEnd(src, from: i, to: range.upperBound)
            guard i < range.upperBound else { break }
            let b = src[i]
            if run < i {
                p.update(from: src.baseAddress! + run, count: i - run)
                p += i - run
            }
            i += 1
            run = i
            p[0] = 0x5C
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                p[1] = b
                p += 2
            case 0x0A:
                p[1] = UInt8(ascii: "n")
                p += 2
            case 0x0D:
                p[1] = UInt8(ascii: "r")
                p += 2
            case 0x09:
                p[1] = UInt8(ascii: "t")
                p += 2
            default:
                p[1] = UInt8(ascii: "u")
                p[2] = 0x30
                p[3] = 0x30
                p[4] = JSONText.hexDigit(b >> 4)
                p[5] = JSONText.hexDigit(b & 15)
                p += 6
            }
        }
        if run < range.upperBound {
            p.update(from: src.baseAddress! + run, count: range.upperBound - run)
            p += range.upperBound - run
        }
        p.pointee = UInt8(ascii: "\"")
        p += 1
    }
}

/// Byte-level JSON helpers for output: hand-written because they run once per event on export's hot
/// path, where going through `JSONSerialization` would re-parse and re-order every payload.
public enum JSONText {
    @inline(__always)
    static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x57 + v }

    /// Appends `bytes[range]` (UTF-8) as a JSON string literal (the same escaping as an NDJSON line's).
    public static func appendString(_ bytes: [UInt8], _ range: Range<Int>, to out: inout [UInt8]) {
        // An escaped byte takes at most 6 (`\u00XX`), plus the two quotes.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 6 * range.count + 2) { buffer in
            var cursor = NDJSONCursor(at: buffer.baseAddress!)
            bytes.withUnsafeBufferPointer { cursor.putString($0, range) }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<(cursor.p - buffer.baseAddress!)]))
        }
    }

    /// Appends a string as a JSON string literal.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        let bytes = Array(s.utf8)
        appendString(bytes, 0..<bytes.count, to: &out)
    }

    /// Appends the JSON text in `bytes[range]` without the whitespace outside its strings.
    ///
    /// `bytes[range]` should be valid JSON (every payload was validated on ingest); any bytes are safe.
    /// The work is `hooklog_json_minify` (CJSONMinify: SSE2 classification of 64-byte chunks), which
    /// the property tests compare with `appendMinifiedReference`.
    public static func appendMinified(_ bytes: [UInt8], _ range: Range<Int>, to out: inout [UInt8]) {
        guard !range.isEmpty else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: range.count) { buffer in
            let n = bytes.withUnsafeBufferPointer { src in
                hooklog_json_minify(src.baseAddress! + range.lowerBound, range.count, buffer.baseAddress!)
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<n]))
        }
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
