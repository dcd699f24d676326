import Foundation

/// Figures measured by the benchmarks, kept per run so that each can be printed beside its reference.
///
/// Every benchmark runs in a process of its own (that is how the Benchmark plugin works), so figures meet
/// in files: `<data root>/results/<run>/<key>`. When a benchmark records a figure that completes a
/// comparison, the comparison's summary line is printed at once; `hooklog-bench-report` prints them all.
public enum Results {
    static var directory: String { BenchEnv.dataRoot + "/results/" + BenchEnv.runID }

    /// Records a figure and prints every summary line it completes.
    public static func record(_ values: [String: Double]) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (key, value) in values {
            try? String(value).write(toFile: directory + "/" + key, atomically: true, encoding: .utf8)
        }
        for c in Comparison.all where c.keys.contains(where: { values[$0] != nil }) {
            if let line = c.line(value) { print(line) }
        }
        fflush(nil)  // every stream: the benchmark runner prints to stdout too
    }

    public static func value(_ key: String) -> Double? {
        (try? String(contentsOfFile: directory + "/" + key, encoding: .utf8)).flatMap { Double($0) }
    }

    /// All summary lines that this run's figures complete.
    public static func summary() -> [String] {
        Comparison.all.compactMap { $0.line(value) }
    }
}

/// One summary line: a figure beside its reference, with the ratio and the target.
public struct Comparison: Sendable {
    enum Style: Sendable {
        /// subject/reference as a percentage; target is the minimum percentage.
        case percent(target: Double)
        /// subject/reference as a multiple; target is the minimum multiple.
        case times(target: Double)
        /// reference/subject (lower subject is better) as a multiple; no target.
        case fasterBy
        /// subject as a fraction of the reference, "1/x"; target is the maximum fraction 1/target.
        case fraction(target: Double)
    }

    var name: String
    var subject: (label: String, key: String)
    var reference: (label: String, key: String)?
    var unit: String
    var style: Style
    var note: String = ""

    var keys: [String] { [subject.key] + (reference.map { [$0.key] } ?? []) }

    static var events: String {
        let n = BenchEnv.bigEventCount
        return n % 1_000_000 == 0 ? "\(n / 1_000_000) M events" : n % 1000 == 0 ? "\(n / 1000) k events" : "\(n) events"
    }

    static let all: [Comparison] = [
        Comparison(
            name: "append-50", subject: ("hooklog", "append.hooklog.MBps"),
            reference: ("raw LZ4_compress_default", "append.lz4.MBps"), unit: "MB/s", style: .percent(target: 70)),
        Comparison(
            name: "append-50", subject: ("hooklog", "append.hooklog.MBps"),
            reference: ("SQLite WAL synchronous=FULL", "append.sqlite.MBps"), unit: "MB/s", style: .times(target: 20)),
        Comparison(
            name: "append-50 from 8 concurrent appenders (group commit)", subject: ("hooklog", "append8.hooklog.MBps"),
            reference: ("raw LZ4_compress_default", "append.lz4.MBps"), unit: "MB/s", style: .percent(target: 70)),
        Comparison(
            name: "append-50 from 8 concurrent appenders (group commit)", subject: ("hooklog", "append8.hooklog.MBps"),
            reference: ("SQLite, 8 concurrent writers", "append8.sqlite.MBps"), unit: "MB/s", style: .times(target: 20)),
        Comparison(
            name: "append-50 events/s", subject: ("hooklog", "append.hooklog.eps"),
            reference: ("SQLite", "append.sqlite.eps"), unit: "events/s", style: .times(target: 20)),
        Comparison(
            name: "entity-query p50 (\(events), warm)", subject: ("hooklog", "query.hooklog.p50us"),
            reference: ("SQLite indexed", "query.sqlite.p50us"), unit: "µs", style: .fasterBy),
        Comparison(
            name: "entity-query p99 (\(events), warm)", subject: ("hooklog", "query.hooklog.p99us"),
            reference: ("SQLite indexed", "query.sqlite.p99us"), unit: "µs", style: .fasterBy),
        Comparison(
            name: "full-scan (\(events))", subject: ("hooklog forEachView", "scan.hooklog.MBps"),
            reference: ("raw LZ4_decompress_safe (128 KB chunks)", "scan.lz4.MBps"), unit: "MB/s",
            style: .percent(target: 40)),
        Comparison(
            name: "full-scan as StoredEvent (\(events))", subject: ("hooklog forEach", "scan.stored.MBps"),
            reference: ("raw LZ4_decompress_safe (128 KB chunks)", "scan.lz4.MBps"), unit: "MB/s",
            style: .percent(target: 40)),
        Comparison(
            name: "bytes-on-disk (\(events))", subject: ("hooklog", "disk.hooklog.MB"),
            reference: ("NDJSON", "disk.ndjson.MB"), unit: "MB", style: .fraction(target: 4)),
        Comparison(
            name: "bytes-on-disk (\(events))", subject: ("hooklog", "disk.hooklog.MB"),
            reference: ("SQLite", "disk.sqlite.MB"), unit: "MB", style: .fraction(target: 5)),
        Comparison(
            name: "rss (\(events), reader open + queries)", subject: ("hooklog", "rss.hooklog.MB"),
            reference: ("process before opening", "rss.baseline.MB"), unit: "MB", style: .times(target: .nan),
            note: "target ≤ 256 MB at 10 M events"),
    ]

    func line(_ value: (String) -> Double?) -> String? {
        guard let s = value(subject.key) else { return nil }
        let sText = Self.format(s)
        guard let reference, let r = value(reference.key) else {
            return reference == nil ? "\(name): \(subject.label) \(sText) \(unit)" : nil
        }
        let head = "\(name): \(subject.label) \(sText) \(unit) vs \(reference.label) \(Self.format(r)) \(unit)"
        switch style {
        case .percent(let target):
            let pct = s / r * 100
            return head + " = \(String(format: "%.0f", pct)) % (target ≥ \(Int(target)) %\(pct >= target ? ", met" : ", NOT met"))"
        case .times(let target):
            if target.isNaN {
                return head + (note.isEmpty ? "" : " (\(note))")
            }
            let x = s / r
            return head + " = \(String(format: "%.1f", x))× (target ≥ \(Int(target))×\(x >= target ? ", met" : ", NOT met"))"
        case .fasterBy:
            return head + (r >= s
                ? " = hooklog \(String(format: "%.1f", r / s))× faster" : " = hooklog \(String(format: "%.1f", s / r))× slower")
        case .fraction(let target):
            let x = r / s
            return head + " = 1/\(String(format: "%.1f", x)) (target ≤ 1/\(Int(target))\(x >= target ? ", met" : ", NOT met"))"
        }
    }

    static func format(_ x: Double) -> String {
        if x >= 1000 { return String(format: "%.0f", x) }
        if x >= 100 { return String(format: "%.1f", x) }
        return String(format: "%.2f", x)
    }
}

/// Accumulates one benchmark's own timings (the closure times just the operation, without the
/// framework's per-iteration overhead).
public final class Samples: @unchecked Sendable {
    // `@unchecked Sendable`: a benchmark's closure, setup and teardown run one after another on the
    // runner's threads, never at once; the lock makes that assumption harmless if it ever changes.
    private let lock = NSLock()
    private var nanos: [UInt64] = []
    private var bytes = 0
    private var events = 0

    public init() {}

    public func add(nanos n: UInt64, bytes b: Int = 0, events e: Int = 0) {
        lock.lock()
        nanos.append(n)
        bytes += b
        events += e
        lock.unlock()
    }

    public var totalSeconds: Double { lock.withLock { Double(nanos.reduce(0, +)) / 1e9 } }
    public var megabytesPerSecond: Double { lock.withLock { Double(bytes) / 1e6 } / totalSeconds }
    public var eventsPerSecond: Double { lock.withLock { Double(events) } / totalSeconds }
    public var count: Int { lock.withLock { nanos.count } }

    /// Latency percentiles in microseconds.
    public func percentileMicros(_ p: Double) -> Double {
        let sorted = lock.withLock { nanos.map { Double($0) / 1000 }.sorted() }
        return percentile(sorted, p)
    }
}
