// hooklog-loadgen: the driver of benchmarks/ingest/run.sh (issue 4's ingest benchmark).
//
//   append   in-process durable append of corpus Orderspace batches from N concurrent tasks (the reference)
//   batches  the same batches POSTed to an Orderspace URL over N connections, closed loop
//   singles  1-event O2VEND requests over N connections, closed loop, for a fixed time
//   paced    1-event O2VEND requests at a fixed rate, open loop (latency from the scheduled send time too)
//
// Every figure is printed as a `key=value` line on standard output; notes go to standard error.
import ArgumentParser
import AsyncHTTPClient
import Corpus
import HooklogStore
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

@main
struct Loadgen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hooklog-loadgen",
        abstract: "Ingest load for benchmarks/ingest/run.sh: in-process append, and HTTP load on hooklog serve.",
        subcommands: [Append.self, Batches.self, Singles.self, Paced.self, Extract.self])
}

struct CorpusOptions: ParsableArguments {
    @Option(help: "Corpus seed.")
    var seed: UInt64 = 42
}

struct BatchOptions: ParsableArguments {
    @Option(help: "How many batches (distinct request bodies).")
    var batches = 2000
    @Option(help: "Events per batch (Orderspace sends at most 50).")
    var batchSize = 50
}

struct ClientOptions: ParsableArguments {
    @Option(help: "The URL to POST to.")
    var url: String
    @Option(help: "HTTP/1.1 connections (the pool's per-host limit; one request in flight per connection).")
    var connections = 32
    @Option(help: "Event-loop threads of the client.")
    var threads = 1
    @Option(help: "The HTTP client: nio (a lean driver on SwiftNIO channels) or ahc (AsyncHTTPClient).")
    var client: ClientKind = .nio

    enum ClientKind: String, ExpressibleByArgument, Sendable {
        case nio, ahc
    }

    func withGroup<R>(_ body: (MultiThreadedEventLoopGroup) async throws -> R) async throws -> R {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let result: Result<R, any Error>
        do { result = .success(try await body(group)) } catch { result = .failure(error) }
        try await group.shutdownGracefully()
        return try result.get()
    }

    /// One request first (with AsyncHTTPClient), so that a run on a server that cannot be reached stops
    /// at once with the reason.
    func probe(body: ByteBuffer) async throws {
        var once = self
        once.connections = 1
        try await once.withClient { http in try await hooklog_loadgen.probe(http, url: url, body: body) }
    }

    /// A closed-loop run with the chosen client.
    func closedLoop(timing: TimingOptions, request: @escaping @Sendable (Int) -> (body: ByteBuffer, payloadBytes: Int)) async throws -> ClosedLoopRun {
        switch client {
        case .ahc:
            return try await withClient { http in
                await hooklog_loadgen.closedLoop(http, url: url, connections: connections, timing: timing, request: request)
            }
        case .nio:
            let target = try Target(url)
            return try await withGroup { group in
                let start = nowNanos()
                let measureFrom = start + Int(timing.warmup * 1e9)
                let plan = ClosedLoopPlan(
                    target: target, measureFrom: measureFrom, end: measureFrom + Int(timing.seconds * 1e9), request: request)
                let cpu0 = group.next().scheduleTask(deadline: .uptimeNanoseconds(UInt64(measureFrom))) { cpuNanos() }
                let (measured, outside) = try await runClosedLoop(group: group, connections: connections, plan: plan)
                let cpu = cpuNanos() - ((try? await cpu0.futureResult.get()) ?? cpuNanos())
                return ClosedLoopRun(measured: measured, outside: outside, requests: plan.counter.value, loadgenCPUNanos: cpu)
            }
        }
    }

    func withClient<R>(_ body: (HTTPClient) async throws -> R) async throws -> R {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var configuration = HTTPClient.Configuration()
        configuration.httpVersion = .http1Only
        configuration.connectionPool = .init(
            idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.decompression = .disabled
        let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
        let result: Result<R, any Error>
        do { result = .success(try await body(client)) } catch { result = .failure(error) }
        try await client.shutdown()
        try await group.shutdownGracefully()
        return try result.get()
    }
}

/// VmHWM of this process in MB (Linux; 0 elsewhere).
func peakRSSMegabytes() -> Int {
    guard let fd = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(fd) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), fd) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmHWM:") {
            return (Int(text.dropFirst(6).filter(\.isNumber)) ?? 0) / 1024
        }
    }
    return 0
}

/// A shared counter (a class, so that concurrent tasks can capture it).
final class Counter: Sendable {
    private let atomic = Atomic<Int>(0)
    /// Adds one and returns the value before.
    func next() -> Int { atomic.add(1, ordering: .relaxed).oldValue }
    func decrement() { atomic.subtract(1, ordering: .relaxed) }
    var value: Int { atomic.load(ordering: .relaxed) }
}

/// A value behind a lock, capturable by concurrent tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout sending Value) throws -> sending R) rethrows -> R { try mutex.withLock(body) }
}

/// Ends a run early (with an error line) if the server cannot be reached at all.
func probe(_ client: HTTPClient, url: String, body: ByteBuffer) async throws {
    if case .error(let message) = await post(client, url: url, body: body) {
        throw ValidationError("cannot reach \(url): \(message)")
    }
}

// MARK: - append

struct Append: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "In-process durable append of the batches into a data directory, from N concurrent tasks.")

    @OptionGroup var corpus: CorpusOptions
    @OptionGroup var batchOptions: BatchOptions
    @Option(help: "The data directory (should be new and empty).")
    var data: String
    @Option(help: "Concurrent appending tasks.")
    var tasks = 32
    @Option(help: "Repeat the whole set of batches until at least this many seconds have passed.")
    var minSeconds = 5.0
    @Flag(inversion: .prefixedNo, help: "Recompress sealed segments with LZ4HC in the background (the store's default).")
    var recompress = true
    @Flag(
        inversion: .prefixedNo,
        help: """
            Append each batch with a request-body digest and the default dedupe window, as `serve` stores an \
            Orderspace delivery (so the store does the same dedupe work and writes the same records). The \
            digest is 16 bytes made from the batch's position in the run: every pass over the set is new, not \
            a retry, as the HTTP benchmark's bodies are.
            """)
    var bodyDigest = true

    func run() async throws {
        let t0 = nowNanos()
        let work = OrderspaceBatches(seed: corpus.seed, batches: batchOptions.batches, size: batchOptions.batchSize)
        note("append: generated \(work.events.count) batches of \(batchOptions.batchSize) events in \(fixed(Double(nowNanos() - t0) / 1e9, 1)) s")
        let opening = nowNanos()
        var options = StoreOptions()
        options.recompressSealed = recompress
        let store = try ArchiveStore.open(directory: data, options: options)
        out("open_seconds", fixed(Double(nowNanos() - opening) / 1e9, 3))
        let counter = Counter()
        let n = work.events.count
        let minNanos = Int(minSeconds * 1e9)
        let cpu0 = cpuNanos()
        let start = nowNanos()
        // Each task takes the next batch; after the last one the set starts again while under minSeconds.
        let results = await withTaskGroup(of: (Int, Int, [Int], String?).self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    var appended = 0
                    var bytes = 0
                    var latencies: [Int] = []
                    while true {
                        let i = counter.next()
                        if i >= n && nowNanos() - start >= minNanos { break }
                        let batch = work.events[i % n]
                        let request = AppendRequest(events: batch, bodyDigest: bodyDigest ? Self.digest(i) : nil)
                        let t = nowNanos()
                        do {
                            _ = try await store.append(request)
                        } catch {
                            return (appended, bytes, latencies, "\(error)")
                        }
                        latencies.append(nowNanos() - t)
                        appended += batch.count
                        bytes += batch.reduce(0) { $0 + $1.payload.count }
                    }
                    return (appended, bytes, latencies, nil)
                }
            }
            var all: [(Int, Int, [Int], String?)] = []
            for await r in group { all.append(r) }
            return all
        }
        let elapsed = nowNanos() - start
        let cpu = cpuNanos() - cpu0
        let closing = nowNanos()
        store.close()
        let closed = nowNanos()
        out("close_seconds", fixed(Double(closed - closing) / 1e9, 3))
        out("peak_rss_mb", peakRSSMegabytes())
        let events = results.reduce(0) { $0 + $1.0 }
        let bytes = results.reduce(0) { $0 + $1.1 }
        if let problem = results.compactMap(\.3).first { out("first_problem", problem.replacingNewlines) }
        out("batches", events / max(1, batchOptions.batchSize))
        out("events", events)
        out("payload_bytes", bytes)
        out("seconds", fixed(Double(elapsed) / 1e9, 3))
        out("events_per_s", Int(Double(events) / (Double(elapsed) / 1e9)))
        // close waits for the background work the appends left behind (indexing, LZ4HC of sealed segments).
        out("events_per_s_with_close", Int(Double(events) / (Double(closed - start) / 1e9)))
        out("payload_mb_per_s", fixed(Double(bytes) / 1e6 / (Double(elapsed) / 1e9), 1))
        out("batch_body_bytes_avg", work.bodyBytes / max(1, work.bodies.count))
        out("cpu_seconds", fixed(Double(cpu) / 1e9, 2))
        printLatencies("append_latency", results.flatMap(\.2))
    }

    /// 16 well-mixed bytes for the `i`-th batch of the run (the first two outputs of `SplitMix64` seeded
    /// with `i`): a stand-in for the SHA-256 prefix `serve` stores, distinct for every batch and pass.
    static func digest(_ i: Int) -> [UInt8] {
        var generator = SplitMix64(seed: UInt64(i))
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for _ in 0..<2 {
            withUnsafeBytes(of: generator.next().littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }
}

// MARK: - batches

struct Batches: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Orderspace batches POSTed over N connections, closed loop, for a fixed time; every body distinct.")

    @OptionGroup var corpus: CorpusOptions
    @OptionGroup var batchOptions: BatchOptions
    @OptionGroup var client: ClientOptions
    @OptionGroup var timing: TimingOptions

    func run() async throws {
        let t0 = nowNanos()
        let work = OrderspaceBatches(seed: corpus.seed, batches: batchOptions.batches, size: batchOptions.batchSize)
        note("batches: generated \(work.bodies.count) request bodies (\(work.bodyBytes / max(1, work.bodies.count)) bytes on average) in \(fixed(Double(nowNanos() - t0) / 1e9, 1)) s")
        let size = batchOptions.batchSize
        // The probe is a batch of its own (not one of the set), so the set stays as appended in process.
        try await client.probe(body: OrderspaceBatches(seed: corpus.seed &+ 1, batches: 1, size: 1).bodies[0])
        let run = try await client.closedLoop(timing: timing) { i in (work.body(i), work.payloadBytes(i)) }
        run.print(timing: timing)
        let seconds = timing.seconds
        out("events_per_s", Int(Double(run.measured.ok * size) / seconds))
        out("payload_mb_per_s", fixed(Double(run.measured.okPayloadBytes) / 1e6 / seconds, 1))
        out("passes", fixed(Double(run.requests) / Double(work.bodies.count), 2))
    }
}

// MARK: - singles

struct TimingOptions: ParsableArguments {
    @Option(help: "Seconds of load before the measurement starts (not counted).")
    var warmup = 2.0
    @Option(help: "Seconds measured.")
    var seconds = 15.0
}

struct SinglesOptions: ParsableArguments {
    @Option(help: "Distinct corpus O2VEND events to draw bodies from (each request gets a new Id).")
    var pool = 20_000
    @Option(help: "Tag in the first 8 hex digits of every Id (make it different for every run on one archive).")
    var tag: UInt32 = 1
}

struct Singles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "1-event O2VEND requests over N connections, closed loop, for a fixed time.")

    @OptionGroup var corpus: CorpusOptions
    @OptionGroup var client: ClientOptions
    @OptionGroup var singles: SinglesOptions
    @OptionGroup var timing: TimingOptions

    func run() async throws {
        let work = O2VendSingles(seed: corpus.seed, poolSize: singles.pool, tag: singles.tag)
        note("singles: \(work.pool.count) O2VEND events in the pool, \(work.averageBytes) bytes on average")
        try await client.probe(body: work.body(Int(Int32.max)))
        let run = try await client.closedLoop(timing: timing) { i in
            let body = work.body(i)
            return (body, body.readableBytes)
        }
        run.print(timing: timing)
    }
}

/// What a closed-loop run came to.
struct ClosedLoopRun: Sendable {
    /// Requests sent and answered inside the measured window.
    var measured: Tally
    /// The others (warm-up, and those answered after the window closed).
    var outside: Tally
    var requests: Int
    var loadgenCPUNanos: Int

    func print(timing: TimingOptions) {
        measured.printOutcome()
        out("outside_window_requests", outside.total)
        out("outside_window_not_ok", outside.total - outside.ok)
        out("outside_window_stored", outside.stored)
        out("outside_window_duplicates", outside.duplicates)
        out("seconds", fixed(timing.seconds, 3))
        out("req_per_s", Int(Double(measured.ok) / timing.seconds))
        out("body_bytes_avg", measured.total == 0 ? 0 : measured.bytesSent / measured.total)
        out("loadgen_cpu_seconds", fixed(Double(loadgenCPUNanos) / 1e9, 2))
        printLatencies("latency", measured.latencies)
    }
}

/// `connections` tasks, each sending request `i` (a shared counter) as soon as its previous one was
/// answered, for `warmup + seconds`. A request counts if it was sent and answered inside the measured window.
func closedLoop(
    _ http: HTTPClient, url: String, connections: Int, timing: TimingOptions,
    request: @escaping @Sendable (Int) -> (body: ByteBuffer, payloadBytes: Int)
) async -> ClosedLoopRun {
    let counter = Counter()
    let start = nowNanos()
    let measureFrom = start + Int(timing.warmup * 1e9)
    let end = measureFrom + Int(timing.seconds * 1e9)
    let cpu0 = Locked<Int?>(nil)
    let (measured, outside) = await withTaskGroup(of: (Tally, Tally).self) { group in
        for _ in 0..<connections {
            group.addTask {
                var tally = Tally()
                var warm = Tally()
                while true {
                    let t = nowNanos()
                    if t >= end { break }
                    if t >= measureFrom { cpu0.withLock { if $0 == nil { $0 = cpuNanos() } } }
                    let (body, payloadBytes) = request(counter.next())
                    let answer = await post(http, url: url, body: body)
                    let done = nowNanos()
                    if t >= measureFrom && done <= end {
                        tally.latencies.append(done - t)
                        tally.count(answer)
                        tally.bytesSent += body.readableBytes
                        if case .ok = answer { tally.okPayloadBytes += payloadBytes }
                    } else {
                        warm.count(answer)
                    }
                }
                return (tally, warm)
            }
        }
        var all = Tally()
        var allWarm = Tally()
        for await (t, w) in group {
            all.merge(t)
            allWarm.merge(w)
        }
        return (all, allWarm)
    }
    let cpu = cpuNanos() - (cpu0.withLock { $0 } ?? cpuNanos())
    return ClosedLoopRun(measured: measured, outside: outside, requests: counter.value, loadgenCPUNanos: cpu)
}

// MARK: - paced

struct Paced: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "1-event O2VEND requests at a fixed rate, open loop: sends follow the schedule whatever the answers.")

    @OptionGroup var corpus: CorpusOptions
    @OptionGroup var client: ClientOptions
    @OptionGroup var singles: SinglesOptions
    @OptionGroup var timing: TimingOptions
    @Option(help: "Requests per second.")
    var rate: Double
    @Option(help: "Requests in flight beyond which scheduled sends are skipped (and counted).")
    var maxInFlight = 10_000
    @Option(help: "Seconds of the sliding window whose worst p99 is also printed (nio client only; 0: none).")
    var window = 15.0

    func run() async throws {
        let work = O2VendSingles(seed: corpus.seed, poolSize: singles.pool, tag: singles.tag)
        note("paced: \(work.pool.count) O2VEND events in the pool, \(fixed(rate, 0)) requests/s")
        let url = client.url
        let warmupNanos = Int(timing.warmup * 1e9)
        let measureNanos = Int(timing.seconds * 1e9)
        let rate = self.rate
        let maxInFlight = self.maxInFlight
        try await client.probe(body: work.body(Int(Int32.max)))
        if client.client == .nio {
            try await runNIO(work)
            return
        }
        try await client.withClient { http in
            struct Shared {
                var tally = Tally()
                var warm = Tally()
                /// From the scheduled send time (includes any lag of the sender: no coordinated omission).
                var fromSchedule: [Int] = []
                /// How late the sender was on its schedule.
                var lag: [Int] = []
            }
            let shared = Locked(Shared())
            let inFlight = Counter()
            var skipped = 0
            let start = nowNanos() + 50_000_000
            let measureFrom = start + warmupNanos
            let end = measureFrom + measureNanos
            let interval = 1e9 / rate
            var cpu0: Int?
            var sent = 0
            await withDiscardingTaskGroup { group in
                var i = 0
                while true {
                    let due = start + Int((Double(i) * interval).rounded())
                    if due >= end { break }
                    var now = nowNanos()
                    if due > now {
                        try? await Task.sleep(nanoseconds: UInt64(due - now))
                        now = nowNanos()
                    }
                    if cpu0 == nil && due >= measureFrom { cpu0 = cpuNanos() }
                    let index = i
                    i += 1
                    if inFlight.value >= maxInFlight {
                        if due >= measureFrom { skipped += 1 }
                        continue
                    }
                    _ = inFlight.next()
                    sent += 1
                    group.addTask {
                        let body = work.body(index)
                        let t = nowNanos()
                        let answer = await post(http, url: url, body: body)
                        let done = nowNanos()
                        inFlight.decrement()
                        shared.withLock { s in
                            if due >= measureFrom {
                                s.tally.latencies.append(done - t)
                                s.tally.count(answer)
                                s.tally.bytesSent += body.readableBytes
                                s.fromSchedule.append(done - due)
                                s.lag.append(t - due)
                            } else {
                                s.warm.count(answer)
                            }
                        }
                    }
                }
            }
            let cpu = cpuNanos() - (cpu0 ?? cpuNanos())
            let s = shared.withLock { $0 }
            let seconds = Double(measureNanos) / 1e9
            s.tally.printOutcome()
            out("outside_window_requests", s.warm.total)
            out("outside_window_not_ok", s.warm.total - s.warm.ok)
            out("outside_window_stored", s.warm.stored)
            out("outside_window_duplicates", s.warm.duplicates)
            out("target_rate", fixed(rate, 1))
            out("achieved_rate", fixed(Double(s.tally.total) / seconds, 1))
            out("skipped", skipped)
            out("max_waiting_for_a_connection", "n/a (AsyncHTTPClient queues them)")
            out("seconds", fixed(seconds, 3))
            out("loadgen_cpu_seconds", fixed(Double(cpu) / 1e9, 2))
            printLatencies("latency", s.tally.latencies)
            printLatencies("from_schedule", s.fromSchedule)
            printLatencies("send_lag", s.lag)
            out("worst_window_start_s", "n/a")
            out("worst_window_p99_ms", "n/a (nio client only)")
        }
    }

    /// The open loop on the NIO driver: one event loop, `connections` connections opened first.
    func runNIO(_ work: O2VendSingles) async throws {
        let target = try Target(client.url)
        let (records, measureFrom, maxWaiting, cpu) = try await client.withGroup { group in
            let cpuStart = Locked<Int?>(nil)
            let (records, measureFrom, maxWaiting) = try await runPaced(
                group: group, connections: client.connections, target: target, rate: rate, warmup: timing.warmup,
                seconds: timing.seconds, cpuAt: { cpuStart.withLock { $0 = cpuNanos() } }
            ) { i in work.body(i) }
            return (records, measureFrom, maxWaiting, cpuNanos() - (cpuStart.withLock { $0 } ?? cpuNanos()))
        }
        var measured = Tally()
        var outside = Tally()
        var fromSchedule: [Int] = []
        var lag: [Int] = []
        // HOOKLOG_LOADGEN_TRACE=FILE: every request as `sent done` (CLOCK_MONOTONIC ns), to line latency
        // spikes up with what the server was doing then (its own clock is the same).
        if let cPath = getenv("HOOKLOG_LOADGEN_TRACE") {
            let path = String(cString: cPath)
            var text = ""
            for r in records where r.due >= measureFrom { text += "\(r.sent) \(r.done)\n" }
            guard let f = fopen(path, "w") else { throw ValidationError("cannot write \(path)") }
            fputs(text, f)
            fclose(f)
        }
        for r in records {
            if r.due >= measureFrom {
                measured.latencies.append(r.done - r.sent)
                measured.count(r.answer)
                measured.bytesSent += r.bytes
                fromSchedule.append(r.done - r.due)
                lag.append(r.sent - r.due)
            } else {
                outside.count(r.answer)
            }
        }
        let seconds = timing.seconds
        measured.printOutcome()
        out("outside_window_requests", outside.total)
        out("outside_window_not_ok", outside.total - outside.ok)
        out("outside_window_stored", outside.stored)
        out("outside_window_duplicates", outside.duplicates)
        out("target_rate", fixed(rate, 1))
        out("achieved_rate", fixed(Double(measured.total) / seconds, 1))
        out("skipped", 0)
        out("max_waiting_for_a_connection", maxWaiting)
        out("seconds", fixed(seconds, 3))
        out("loadgen_cpu_seconds", fixed(Double(cpu) / 1e9, 2))
        printLatencies("latency", measured.latencies)
        printLatencies("from_schedule", fromSchedule)
        printLatencies("send_lag", lag)
        // A window as long as the phase is the phase itself; none longer fits in it.
        if window > 0 && window <= seconds {
            let measuredRecords = records.filter { $0.due >= measureFrom }
            let worst = worstWindow(
                measuredRecords.map { ($0.due - measureFrom, $0.done - $0.sent) }, window: window, seconds: seconds)
            out("worst_window_start_s", fixed(worst.start, 1))
            out("worst_window_p99_ms", fixed(worst.p99, 3))
        } else {
            out("worst_window_start_s", "n/a")
            out("worst_window_p99_ms", "n/a (--window is 0 or longer than --seconds)")
        }
    }
}

/// The window of `window` seconds (starts 1 s apart, inside `0..<seconds`) whose requests had the highest
/// p99 latency: where it starts and that p99. `requests` are (scheduled time from the start of the
/// measurement, latency), in ns. A long paced phase holds the rare events at their natural frequency (a
/// segment sealed every 50 s or so); this shows how a shorter window that happened to hold one would read.
func worstWindow(_ requests: [(at: Int, latency: Int)], window: Double, seconds: Double) -> (start: Double, p99: Double) {
    var worst = (start: 0.0, p99: 0.0)
    var start = 0.0
    while start + window <= seconds + 1e-9 {
        let lo = Int(start * 1e9)
        let hi = Int((start + window) * 1e9)
        let p99 = percentileMs(requests.filter { $0.at >= lo && $0.at < hi }.map(\.latency).sorted(), 99)
        if p99 > worst.p99 { worst = (start, p99) }
        start += 1
    }
    return worst
}
