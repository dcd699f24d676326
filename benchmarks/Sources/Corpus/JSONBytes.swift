/// Builds JSON text straight into bytes: no `JSONEncoder`, no intermediate `String`s.
///
/// The generator writes hundreds of thousands of events a second through this, so everything is an
/// append to one growing `[UInt8]`. Values are written in the style of the fixtures (Python's
/// `json.dumps`: `", "` and `": "` separators, floats as `156.0`, `6.5`, `4.25`).
public struct JSONBytes: @unchecked Sendable {
    // `@unchecked Sendable`: the storage is a class only so that appends need no uniqueness checks and
    // the buffer can be reused across events; a JSONBytes is owned by one generator or writer and never
    // shared between threads (the public API hands out copies of the bytes, never the storage).
    final class Storage {
        var base: UnsafeMutablePointer<UInt8>
        var count = 0
        var capacity: Int

        init(capacity: Int) {
            self.capacity = Swift.max(capacity, 64)
            base = .allocate(capacity: self.capacity)
        }

        deinit { base.deallocate() }

        @inline(never)
        func grow(_ needed: Int) {
            var c = capacity * 2
            while c < count + needed { c *= 2 }
            let b = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            b.update(from: base, count: count)
            base.deallocate()
            base = b
            capacity = c
        }
    }

    let storage: Storage

    /// Creates an empty writer with room for `capacity` bytes (it grows as needed).
    public init(capacity: Int = 2048) {
        storage = Storage(capacity: capacity)
    }

    /// The bytes written so far, copied out.
    public var bytes: [UInt8] {
        [UInt8](UnsafeBufferPointer(start: storage.base, count: storage.count))
    }

    /// How many bytes are written.
    public var count: Int { storage.count }

    /// Forgets what was written, keeping the buffer.
    public func reset() { storage.count = 0 }

    /// Calls `body` with the bytes written so far (valid only during the call).
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.base, count: storage.count))
    }

    /// Appends one byte.
    @inline(__always)
    public func append(_ byte: UInt8) {
        let s = storage
        if s.count == s.capacity { s.grow(1) }
        s.base[s.count] = byte
        s.count += 1
    }

    /// Appends bytes.
    @inline(__always)
    public func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        let s = storage
        let n = bytes.count
        if s.count + n > s.capacity { s.grow(n) }
        if n > 0 { (s.base + s.count).update(from: bytes.baseAddress!, count: n) }
        s.count += n
    }

    /// Appends the bytes of an array.
    @inline(__always)
    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// Appends literal JSON text (keys, punctuation) as is.
    @inline(__always)
    public func raw(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends a string's UTF-8 bytes as is (no quotes).
    @inline(__always)
    public func rawText(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ append($0) }) == nil {
            for b in text.utf8 { append(b) }
        }
    }

    /// Appends a quoted JSON string, escaping what JSON requires.
    @inline(__always)
    public func string(_ text: String) {
        append(0x22)
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { utf8 -> Void in
            for b in utf8 where b == 0x22 || b == 0x5C || b < 0x20 {
                escape(utf8)
                return
            }
            append(utf8)
        }
        if done == nil { Array(text.utf8).withUnsafeBufferPointer { escape($0) } }
        append(0x22)
    }

    func escape(_ utf8: UnsafeBufferPointer<UInt8>) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for b in utf8 {
            switch b {
            case 0x22: append(0x5C); append(0x22)
            case 0x5C: append(0x5C); append(0x5C)
            case 0x0A: append(0x5C); append(0x6E)
            case 0x0D: append(0x5C); append(0x72)
            case 0x09: append(0x5C); append(0x74)
            case ..<0x20:
                raw("\\u00")
                append(hex[Int(b >> 4)])
                append(hex[Int(b & 15)])
            default: append(b)
            }
        }
    }

    /// Appends `null` or the quoted string.
    @inline(__always)
    public func stringOrNull(_ text: String?) {
        if let text { string(text) } else { raw("null") }
    }

    /// Appends a decimal integer.
    @inline(__always)
    public func int(_ value: Int) {
        if value < 0 {
            append(0x2D)
            digits(UInt64(-value))
        } else {
            digits(UInt64(value))
        }
    }

    /// Appends the decimal digits of `value`.
    @inline(__always)
    public func digits(_ value: UInt64) {
        if value < 10 {
            append(0x30 &+ UInt8(value))
            return
        }
        let st = storage
        if st.count + 20 > st.capacity { st.grow(20) }
        var n = 0
        var v = value
        while v > 0 {
            n += 1
            v /= 10
        }
        v = value
        var i = st.count + n - 1
        while v > 0 {
            st.base[i] = 0x30 &+ UInt8(v % 10)
            v /= 10
            i -= 1
        }
        st.count += n
    }

    /// Appends `value` zero-padded to `width` digits.
    @inline(__always)
    public func padded(_ value: Int, width: Int) {
        var div = 1
        for _ in 1..<width { div *= 10 }
        var v = value
        while div > 0 {
            append(0x30 &+ UInt8((v / div) % 10))
            v %= div
            div /= 10
        }
    }

    /// Appends an amount held in hundredths as Python prints a float: `156.0`, `6.5`, `4.25`, `-24.0`.
    @inline(__always)
    public func decimal(hundredths: Int) {
        var h = hundredths
        if h < 0 {
            append(0x2D)
            h = -h
        }
        digits(UInt64(h / 100))
        append(0x2E)
        let frac = h % 100
        if frac % 10 == 0 {
            append(0x30 &+ UInt8(frac / 10))
        } else {
            append(0x30 &+ UInt8(frac / 10))
            append(0x30 &+ UInt8(frac % 10))
        }
    }

    /// Appends `true` or `false`.
    @inline(__always)
    public func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// Appends `"YYYY-MM-DD"` for a time in seconds since the epoch (UTC).
    public func date(_ seconds: Int64) {
        let (y, m, d) = Self.civil(days: Int(seconds.floorDiv(86_400)))
        append(0x22)
        padded(y, width: 4)
        append(0x2D)
        padded(m, width: 2)
        append(0x2D)
        padded(d, width: 2)
        append(0x22)
    }

    /// Appends `"YYYY-MM-DDTHH:MM:SSZ"`, or with `fraction7` digits of 100 ns (O2VEND's
    /// `"2026-10-03T06:12:41.2210000Z"`).
    public func dateTime(_ seconds: Int64, fraction7: Int? = nil) {
        let days = seconds.floorDiv(86_400)
        let secs = Int(seconds - days * 86_400)
        let (y, m, d) = Self.civil(days: Int(days))
        append(0x22)
        padded(y, width: 4)
        append(0x2D)
        padded(m, width: 2)
        append(0x2D)
        padded(d, width: 2)
        append(0x54)
        padded(secs / 3600, width: 2)
        append(0x3A)
        padded(secs / 60 % 60, width: 2)
        append(0x3A)
        padded(secs % 60, width: 2)
        if let fraction7 {
            append(0x2E)
            padded(fraction7, width: 7)
        }
        append(0x5A)
        append(0x22)
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
    /// Appends `json` without the whitespace outside strings: the form `--format ndjson` embeds.
    public func appendMinified(_ json: [UInt8]) {
        let st = storage
        if st.count + json.count > st.capacity { st.grow(json.count) }
        let written = json.withUnsafeBufferPointer { src -> Int in
            guard let p = src.baseAddress else { return 0 }
            let n = src.count
            var out = st.base + st.count
            let start = out
            var i = 0
            while i < n {
                let b = p[i]
                if b == 0x22 {
                    // A string: copy it whole, up to the first quote not escaped by an odd run of backslashes.
                    var j = i + 1
                    while j < n {
                        let c = p[j]
                        j += 1
                        if c == 0x22 { break }
                        if c == 0x5C { j += 1 }
                    }
                    j = Swift.min(j, n)
                    out.update(from: p + i, count: j - i)
                    out += j - i
                    i = j
                } else {
                    if b != 0x20 && b != 0x0A && b != 0x0D && b != 0x09 {
                        out.pointee = b
                        out += 1
                    }
                    i += 1
                }
            }
            return out - start
        }
        st.count += written
    }
}
