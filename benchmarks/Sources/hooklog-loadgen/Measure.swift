// Clocks, counters and the figures a run prints.
import AsyncHTTPClient
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic nanoseconds.
@inline(__always)
func nowNanos() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// This process's CPU time (user + system) in nanoseconds.
func cpuNanos() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// What a set of requests came to: answers by kind, the server's counts, latencies.
struct Tally: Sendable {
    var ok = 0
    var non200: [Int: Int] = [:]
    var errors = 0
    var firstProblem: String?
    /// From the answers' `{"events":N,"stored":S,"duplicates":D}` (hooklog only).
    var events = 0
    var stored = 0
    var duplicates = 0
    var bytesSent = 0
    /// Payload bytes of the events in the requests answered 200.
    var okPayloadBytes = 0
    /// Request latencies in nanoseconds.
    var latencies: [Int] = []

    mutating func merge(_ other: Tally) {
        ok += other.ok
        for (k, v) in other.non200 { non200[k, default: 0] += v }
        errors += other.errors
        if firstProblem == nil { firstProblem = other.firstProblem }
        events += other.events
        stored += other.stored
        duplicates += other.duplicates
        bytesSent += other.bytesSent
        okPayloadBytes += other.okPayloadBytes
        latencies.append(contentsOf: other.latencies)
    }

    var total: Int { ok + non200.values.reduce(0, +) + errors }

    /// Counts one answer; returns whether it was a 200.
    mutating func count(_ answer: Answer) {
        switch answer {
        case .ok(let body):
            ok += 1
            if let body {
                events += Self.field(Self.eventsKey, in: body) ?? 0
                stored += Self.field(Self.storedKey, in: body) ?? 0
                duplicates += Self.field(Self.duplicatesKey, in: body) ?? 0
            }
        case .status(let code, let body):
            non200[code, default: 0] += 1
            if firstProblem == nil { firstProblem = "HTTP \(code): \(String(buffer: body).prefix(200))" }
        case .error(let message):
            errors += 1
            if firstProblem == nil { firstProblem = message }
        }
    }

    static let eventsKey = Array("\"events\":".utf8)
    static let storedKey = Array("\"stored\":".utf8)
    static let duplicatesKey = Array("\"duplicates\":".utf8)

    /// The integer after `key` in a small JSON answer (no allocation: this runs for every answer).
    static func field(_ key: [UInt8], in body: ByteBuffer) -> Int? {
        body.withUnsafeReadableBytes { raw -> Int? in
            let n = raw.count
            let m = key.count
            var i = 0
            outer: while i + m <= n {
                for j in 0..<m where raw[i + j] != key[j] {
                    i += 1
                    continue outer
                }
                var j = i + m
                var value = 0
                var any = false
                while j < n, raw[j] >= 0x30, raw[j] <= 0x39 {
                    value = value * 10 + Int(raw[j] - 0x30)
                    any = true
                    j += 1
                }
                return any ? value : nil
            }
            return nil
        }
    }

    /// Prints the outcome lines (`key=value`) that every HTTP run shares.
    func printOutcome(prefix: String = "") {
        out(prefix + "requests", total)
        out(prefix + "ok", ok)
        out(prefix + "non200", non200.values.reduce(0, +))
        if !non200.isEmpty {
            out(prefix + "non200_by_status", non200.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","))
        }
        out(prefix + "errors", errors)
        out(prefix + "answer_events", events)
        out(prefix + "answer_stored", stored)
        out(prefix + "answer_duplicates", duplicates)
        if let firstProblem { out(prefix + "first_problem", firstProblem.replacingNewlines) }
    }
}

/// How a request was answered.
enum Answer: Sendable {
    case ok(ByteBuffer?)
    case status(Int, ByteBuffer)
    case error(String)
}

/// One POST with the whole answer read.
func post(_ client: HTTPClient, url: String, body: ByteBuffer) async -> Answer {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    request.body = .bytes(body)
    do {
        let response = try await client.execute(request, timeout: .seconds(60))
        let answer = try await response.body.collect(upTo: 1 << 20)
        if response.status.code == 200 { return .ok(answer) }
        return .status(Int(response.status.code), answer)
    } catch {
        return .error("\(error)")
    }
}

/// Nearest-rank percentile of sorted nanoseconds, in milliseconds.
func percentileMs(_ sorted: [Int], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    var rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    rank = max(1, min(sorted.count, rank))
    return Double(sorted[rank - 1]) / 1e6
}

/// Prints p50/p90/p99/p99.9/max of nanosecond latencies as `name_p50_ms=…` lines.
func printLatencies(_ name: String, _ latencies: [Int]) {
    let sorted = latencies.sorted()
    out("\(name)_count", sorted.count)
    for (label, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9)] {
        out("\(name)_\(label)_ms", fixed(percentileMs(sorted, p), 3))
    }
    out("\(name)_max_ms", fixed(Double(sorted.last ?? 0) / 1e6, 3))
    let mean = sorted.isEmpty ? 0 : Double(sorted.reduce(0, +)) / Double(sorted.count) / 1e6
    out("\(name)_mean_ms", fixed(mean, 3))
}

/// One `key=value` line on standard output (what ingest/run.sh reads).
func out(_ key: String, _ value: Any) {
    print("\(key)=\(value)")
}

/// Progress and notes for a person, on standard error.
func note(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (value * scale).rounded() / scale
    var s = "\(r)"
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    } else if digits > 0 {
        s += "." + String(repeating: "0", count: digits)
    }
    if s.contains("e") { return "\(value)" }
    return s
}

extension String {
    var replacingNewlines: String { String(map { $0 == "\n" || $0 == "\r" ? " " : $0 }) }
}
