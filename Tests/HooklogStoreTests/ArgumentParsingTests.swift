import Testing

@testable import HooklogStore

/// Durations, times and sizes come from query strings and the command line: none may reach a trap.
@Suite struct ArgumentParsingTests {
    /// `n * scale` trapped for a count past `Int64` in µs (`GET /v1/events?since=999999999999d` stopped
    /// the server; `query --since`, `serve --dedupe-window`, `--tolerance`, replay `--timeout` likewise).
    @Test(arguments: [
        "999999999999d", "9223372036854775807s", "9223372036854775807w", "153722867280912931m", "2562047788015216h",
        "36501d", "5215w", "99999999999999999999d",
    ])
    func overlongDurationsAreRefused(_ text: String) {
        #expect(RFC3339.parseDuration(text) == nil)
        #expect(RFC3339.parse(text, now: RFC3339.nowMicros()) == nil)
        #expect(RFC3339.parse(text, now: .min) == nil)
    }

    @Test func durations() {
        #expect(RFC3339.parseDuration("90s") == 90_000_000)
        #expect(RFC3339.parseDuration("15m") == 900_000_000)
        #expect(RFC3339.parseDuration("2h") == 7_200_000_000)
        #expect(RFC3339.parseDuration("7d") == 604_800_000_000)
        #expect(RFC3339.parseDuration("2w") == 1_209_600_000_000)
        #expect(RFC3339.parseDuration("0s") == 0)
        #expect(RFC3339.parseDuration("36500d") == RFC3339.maxDurationMicros)
        #expect(RFC3339.parseDuration("5214w") != nil)
        for bad in ["", "s", "-1s", "1", "1y", "1.5h", " 1h", "1 h", "-9223372036854775808s"] {
            #expect(RFC3339.parseDuration(bad) == nil, "\(bad)")
        }
        // A duration back from a clock near the bottom of Int64 would leave it: refused, not trapped.
        #expect(RFC3339.parse("36500d", now: .min + 1) == nil)
        #expect(RFC3339.parse("1s", now: 5_000_000) == 4_000_000)
    }

    /// RFC 3339 times never trap, whatever digits they hold.
    @Test func times() {
        #expect(RFC3339.parse("2026-10-02T09:14:05Z", now: 0) == 1_790_932_445_000_000)
        #expect(RFC3339.parse("0000-01-01T00:00:00Z", now: 0) == -62_167_219_200_000_000)
        #expect(RFC3339.parse("9999-12-31T23:59:60.999999999999999999999+23:59", now: 0) != nil)
        _ = RFC3339.parse("9999-12-31T23:59:59.999999-99:99", now: .max)
        #expect(RFC3339.parse("2026-13-02", now: 0) == nil && RFC3339.parse("2026-10-02T09:14:05", now: 0) == nil)
        for micros: Int64 in [-62_167_219_200_000_000, -1, 0, 1, 253_402_300_799_999_999] {
            #expect(RFC3339.parse(RFC3339.format(micros: micros), now: 0) == micros)
        }
        _ = RFC3339.format(micros: .min)
        _ = RFC3339.format(micros: .max)
    }

    /// `n * multiplier` trapped for `serve --max-body 99999999999999g`.
    @Test func sizes() {
        #expect(ByteSize.parse("99999999999999g") == nil)
        #expect(ByteSize.parse("9223372036854775807k") == nil)
        #expect(ByteSize.parse("-9223372036854775808k") == nil)
        #expect(ByteSize.parse("8589934591g") == 8_589_934_591 << 30)
        #expect(
            ByteSize.parse("4m") == 4 << 20 && ByteSize.parse("512K") == 512 << 10 && ByteSize.parse("1g") == 1 << 30)
        #expect(ByteSize.parse("1048576") == 1_048_576 && ByteSize.parse("10b") == 10)
        #expect(
            ByteSize.parse("") == nil && ByteSize.parse("k") == nil && ByteSize.parse("1.5m") == nil
                && ByteSize.parse("1t") == nil)
    }
}
