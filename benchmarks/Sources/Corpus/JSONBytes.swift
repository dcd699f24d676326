/// Builds JSON text straight into bytes: no `JSONEncoder`, no intermediate `String`s.
///
/// The generator writes hundreds of thousands of events a second through this, so everything is an
/// append to one growing `[UInt8]`. Values are written in the style of the fixtures (Python's
/// `json.dumps`: `", "` and `": "` separators, floats as `156.0`, `6.5`, `4.25`).
public struct JSONBytes: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    /// Creates an empty writer with room for `capacity` bytes.
    public init(capacity: Int = 2048) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends literal JSON text (keys, punctuation) as is.
    @inline(__always)
    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends a string's UTF-8 bytes as is (no quotes).
    @inline(__always)
    public mutating func rawText(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Appends a quoted JSON string, escaping what JSON requires.
    @inline(__always)
    public mutating func string(_ text: String) {
        bytes.append(0x22)
        var text = text
        text.withUTF8 { utf8 in
            var clean = true
            for b in utf8 where b == 0x22 || b == 0x5C || b < 0x20 {
                clean = false
                break
            }
            if clean {
                bytes.append(contentsOf: utf8)
            } else {
                Self.escape(utf8, into: &bytes)
            }
        }
        bytes.append(0x22)
    }

    static func escape(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for b in utf8 {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case ..<0x20: out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
    }

    /// Appends `null` or the quoted string.
    @inline(__always)
    public mutating func stringOrNull(_ text: String?) {
        if let text { string(text) } else { raw("null") }
    }

    /// Appends a decimal integer.
    @inline(__always)
    public mutating func int(_ value: Int) {
        if value < 0 {
            bytes.append(0x2D)
            digits(UInt64(-value))
        } else {
            digits(UInt64(value))
        }
    }

    /// Appends the decimal digits of `value`.
    @inline(__always)
    public mutating func digits(_ value: UInt64) {
        if value < 10 {
            bytes.append(0x30 &+ UInt8(value))
            return
        }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for any UInt64
        var v = value
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { buf in
            while v > 0 {
                buf[23 - n] = 0x30 &+ UInt8(v % 10)
                v /= 10
                n += 1
            }
            bytes.append(contentsOf: buf[(24 - n)...])
        }
    }

    /// Appends `value` zero-padded to `width` digits.
    @inline(__always)
    public mutating func padded(_ value: Int, width: Int) {
        var div = 1
        for _ in 1..<width { div *= 10 }
        var v = value
        while div > 0 {
            bytes.append(0x30 &+ UInt8((v / div) % 10))
            v %= div
            div /= 10
        }
    }

    /// Appends an amount held in hundredths as Python prints a float: `156.0`, `6.5`, `4.25`, `-24.0`.
    @inline(__always)
    public mutating func decimal(hundredths: Int) {
        var h = hundredths
        if h < 0 {
            bytes.append(0x2D)
            h = -h
        }
        digits(UInt64(h / 100))
        bytes.append(0x2E)
        let frac = h % 100
        if frac % 10 == 0 {
            bytes.append(0x30 &+ UInt8(frac / 10))
        } else {
            bytes.append(0x30 &+ UInt8(frac / 10))
            bytes.append(0x30 &+ UInt8(frac % 10))
        }
    }

    /// Appends `true` or `false`.
    @inline(__always)
    public mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// Appends `"YYYY-MM-DD"` for a time in seconds since the epoch (UTC).
    public mutating func date(_ seconds: Int64) {
        let (y, m, d) = Self.civil(days: Int(seconds.floorDiv(86_400)))
        bytes.append(0x22)
        padded(y, width: 4)
        bytes.append(0x2D)
        padded(m, width: 2)
        bytes.append(0x2D)
        padded(d, width: 2)
        bytes.append(0x22)
    }

    /// Appends `"YYYY-MM-DDTHH:MM:SSZ"`, or with `fraction7` digits of 100 ns (O2VEND's
    /// `"2026-10-03T06:12:41.2210000Z"`).
    public mutating func dateTime(_ seconds: Int64, fraction7: Int? = nil) {
        let days = seconds.floorDiv(86_400)
        let secs = Int(seconds - days * 86_400)
        let (y, m, d) = Self.civil(days: Int(days))
        bytes.append(0x22)
        padded(y, width: 4)
        bytes.append(0x2D)
        padded(m, width: 2)
        bytes.append(0x2D)
        padded(d, width: 2)
        bytes.append(0x54)
        padded(secs / 3600, width: 2)
        bytes.append(0x3A)
        padded(secs / 60 % 60, width: 2)
        bytes.append(0x3A)
        padded(secs % 60, width: 2)
        if let fraction7 {
            bytes.append(0x2E)
            padded(fraction7, width: 7)
        }
        bytes.append(0x5A)
        bytes.append(0x22)
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
    static func civil(days z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

extension Int64 {
    @inline(__always)
    func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}

extension JSONBytes {
    /// Copies `json` without the whitespace outside strings: the form `--format ndjson` embeds.
    public static func minify(_ json: [UInt8], into out: inout [UInt8]) {
        var inString = false
        var escaped = false
        json.withUnsafeBufferPointer { src in
            for b in src {
                if inString {
                    out.append(b)
                    if escaped {
                        escaped = false
                    } else if b == 0x5C {
                        escaped = true
                    } else if b == 0x22 {
                        inString = false
                    }
                } else {
                    switch b {
                    case 0x20, 0x0A, 0x0D, 0x09: continue
                    case 0x22:
                        inString = true
                        out.append(b)
                    default: out.append(b)
                    }
                }
            }
        }
    }
}
