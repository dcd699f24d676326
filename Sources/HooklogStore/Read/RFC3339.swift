#if canImport(Glibc)
import Glibc
#endif

/// Times as the contract writes and reads them: RFC 3339 UTC with microseconds out; RFC 3339 (any
/// offset, any fraction) or a duration back from now (`90s`, `15m`, `2h`, `7d`, `2w`) in.
public enum RFC3339 {
    /// Appends `2026-10-02T09:14:05.123456Z` to `out`.
    public static func append(micros: Int64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: width) { buffer in
            let n = write(micros: micros, to: buffer.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<n]))
        }
    }

    /// The bytes `write(micros:to:)` writes for a year from 0 to 9999.
    public static let width = 27

    /// Writes `2026-10-02T09:14:05.123456Z` to `dst` (room for `width` bytes); returns the bytes written.
    ///
    /// Digits go straight into the bytes, because export formats one per event (the string-building
    /// version cost ~5 µs an event). Years outside 0...9999 keep only their last four digits.
    public static func write(micros: Int64, to dst: UnsafeMutablePointer<UInt8>) -> Int {
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        // Civil date from days since the epoch (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func digits(_ value: Int64, _ width: Int, at offset: Int) {
            var v = value < 0 ? 0 : value
            for k in stride(from: offset + width - 1, through: offset, by: -1) {
                dst[k] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
        }
        digits(year, 4, at: 0)
        dst[4] = UInt8(ascii: "-")
        digits(month, 2, at: 5)
        dst[7] = UInt8(ascii: "-")
        digits(day, 2, at: 8)
        dst[10] = UInt8(ascii: "T")
        digits(secondOfDay / 3600, 2, at: 11)
        dst[13] = UInt8(ascii: ":")
        digits(secondOfDay / 60 % 60, 2, at: 14)
        dst[16] = UInt8(ascii: ":")
        digits(secondOfDay % 60, 2, at: 17)
        dst[19] = UInt8(ascii: ".")
        digits(fraction, 6, at: 20)
        dst[26] = UInt8(ascii: "Z")
        return width
    }

    /// `2026-10-02T09:14:05.123456Z`.
    public static func format(micros: Int64) -> String {
        var out: [UInt8] = []
        append(micros: micros, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The same through the C library, kept to check `append` against.
    static func formatWithLibc(micros: Int64) -> String {
        var seconds = time_t(micros / 1_000_000)
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var t = tm()
        gmtime_r(&seconds, &t)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(Int(t.tm_year) + 1900, 4))-\(pad(Int(t.tm_mon) + 1, 2))-\(pad(Int(t.tm_mday), 2))T"
            + "\(pad(Int(t.tm_hour), 2)):\(pad(Int(t.tm_min), 2)):\(pad(Int(t.tm_sec), 2)).\(pad(Int(fraction), 6))Z"
    }

    /// Parses a time argument.
    ///
    /// - Parameters:
    ///   - text: RFC 3339 (`2026-10-02T09:14:05Z`, `2026-10-02T10:14:05.5+01:00`, `2026-10-02`) or a
    ///     duration back from `now` (`15m`).
    ///   - now: µs since the epoch.
    /// - Returns: µs since the epoch, or nil if `text` is neither.
    public static func parse(_ text: String, now: Int64) -> Int64? {
        if let d = parseDuration(text) {
            let (t, overflow) = now.subtractingReportingOverflow(d)
            return overflow ? nil : t
        }
        let b = Array(text.utf8)
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= b.count else { return nil }
            var v = 0
            for i in at..<(at + n) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard let year = digits(0, 4), b.count >= 10, b[4] == UInt8(ascii: "-"), let month = digits(5, 2),
            b[7] == UInt8(ascii: "-"), let day = digits(8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var micros = 0
        var offset = 0
        var i = 10
        if b.count > 10 {
            guard b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
                let h = digits(11, 2), b.count > 13, b[13] == UInt8(ascii: ":"), let m = digits(14, 2), b.count > 16,
                b[16] == UInt8(ascii: ":"), let s = digits(17, 2), h < 24, m < 60, s < 61
            else { return nil }
            (hour, minute, second) = (h, m, s)
            i = 19
            if i < b.count && b[i] == UInt8(ascii: ".") {
                i += 1
                var scale = 100_000
                let start = i
                while i < b.count && b[i] >= 48 && b[i] <= 57 {
                    micros += Int(b[i] - 48) * scale
                    scale /= 10
                    i += 1
                }
                guard i > start else { return nil }
            }
            guard i < b.count else { return nil }  // a time needs its zone
            if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                i += 1
            } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), let oh = digits(i + 1, 2),
                i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"), let om = digits(i + 4, 2)
            {
                offset = (oh * 60 + om) * 60 * (b[i] == UInt8(ascii: "+") ? 1 : -1)
                i += 6
            } else {
                return nil
            }
        }
        guard i == b.count else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm): no dependence on the local time zone.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Int64(seconds) * 1_000_000 + Int64(micros)
    }

    /// The current time, µs since the epoch.
    public static func nowMicros() -> Int64 { currentMicros() }

    /// The longest duration `parseDuration` accepts: 36,500 days (100 years), in µs.
    ///
    /// Durations come from the command line and from query strings, and their users add them to or
    /// subtract them from the current time in µs and in nanoseconds (deadlines, retention, the dedupe
    /// window): 100 years keeps each of those far inside `Int64` (2^63 ns is 292 years), whatever the
    /// caller does with it, while being longer than any window an archive needs.
    public static let maxDurationMicros: Int64 = 36_500 * 86_400 * 1_000_000

    /// `90s`, `15m`, `2h`, `7d`, `2w` → µs; nil for anything else, a negative count, or more than
    /// `maxDurationMicros` (a count like `999999999999d` is refused, never multiplied past `Int64`).
    public static func parseDuration(_ text: String) -> Int64? {
        guard let unit = text.last, let n = Int64(text.dropLast()), n >= 0 else { return nil }
        let scale: Int64
        switch unit {
        case "s": scale = 1_000_000
        case "m": scale = 60 * 1_000_000
        case "h": scale = 3600 * 1_000_000
        case "d": scale = 86_400 * 1_000_000
        case "w": scale = 604_800 * 1_000_000
        default: return nil
        }
        let (micros, overflow) = n.multipliedReportingOverflow(by: scale)
        guard !overflow, micros <= maxDurationMicros else { return nil }
        return micros
    }
}
