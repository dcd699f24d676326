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

@main
struct Loadgen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hooklog-loadgen",
        abstract: "Ingest load for benchmarks/ingest/run.sh: in-process append, and HTTP load on hooklog serve.",
        subcommands: [Append.self, Batches.self, Singles.self, Paced.self])
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

    func run() async throws {
        let t0 = nowNanos()
        let work = OrderspaceBatches(seed: corpus.seed, batches: batchOptions.batches, size: batchOptions.batchSize)
        note("append: generated \(work.events.count) batches of \(batchOptions.batchSize) events in \(fixed(Double(nowNanos() - t0) / 1e9, 1)) s")
        let store = try ArchiveStore.open(directory: data)
        let counter = Atomic<Int>(0)
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
                        let i = counter.add(1, ordering: .relaxed).oldValue
                        if i >= n && nowNanos() - start >= minNanos { break }
                        let batch = work.events[i % n]
                        let t = nowNanos()
                        do {
                            _ = try await store.append(batch)
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
        store.close()
        let events = results.reduce(0) { $0 + $1.0 }
        let bytes = results.reduce(0) { $0 + $1.1 }
        if let problem = results.compactMap(\.3).first { out("first_problem", problem.replacingNewlines) }
        out("batches", events / max(1, batchOptions.batchSize))
        out("events", events)
        out("payload_bytes", bytes)
        out("seconds", fixed(Double(elapsed) / 1e9, 3))
        out("events_per_s", Int(Double(events) / (Double(elapsed) / 1e9)))
        out("payload_mb_per_s", fixed(Double(bytes) / 1e6 / (Double(elapsed) / 1e9), 1))
        out("batch_body_bytes_avg", work.bodyBytes / max(1, work.bodies.count))
        out("cpu_seconds", fixed(Double(cpu) / 1e9, 2))
        printLatencies("append_latency", results.flatMap(\.2))
    }
}

// MARK: - batches

struct Batches: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "POSTs every batch once (distinct bodies) to an Orderspace URL over N connections, closed loop.")

    @OptionGroup var corpus: CorpusOptions
    @OptionGroup var batchOptions: BatchOptions
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let t0 = nowNanos()
        let work = OrderspaceBatches(seed: corpus.seed, batches: batchOptions.batches, size: batchOptions.batchSize)
        note("batches: generated \(work.bodies.count) request bodies (\(work.bodyBytes / max(1, work.bodies.count)) bytes on average) in \(fixed(Double(nowNanos() - t0) / 1e9, 1)) s")
        let url = client.url
        let connections = client.connections
        try await client.withClient { http in
            let counter = Atomic<Int>(0)
            let n = work.bodies.count
            let cpu0 = cpuNanos()
            let start = nowNanos()
            let tally = await withTaskGroup(of: Tally.self) { group in
                for _ in 0..<connections {
                    group.addTask {
                        var tally = Tally()
                        tally.latencies.reserveCapacity(n / connections + 16)
                        while true {
                            let i = counter.add(1, ordering: .relaxed).oldValue
                            if i >= n { break }
                            let t = nowNanos()
                            let answer = await post(http, url: url, body: work.bodies[i])
                            tally.latencies.append(nowNanos() - t)
                            tally.count(answer)
                            tally.bytesSent += work.bodies[i].readableBytes
                        }
                        return tally
                    }
                }
                var all = Tally()
                for await t in group { all.merge(t) }
                return all
            }
            let elapsed = nowNanos() - start
            let cpu = cpuNanos() - cpu0
            let seconds = Double(elapsed) / 1e9
            tally.printOutcome()
            out("seconds", fixed(seconds, 3))
            out("req_per_s", Int(Double(tally.ok) / seconds))
            out("events_per_s", Int(Double(tally.ok * batchOptions.batchSize) / seconds))
            out("payload_mb_per_s", fixed(Double(work.payloadBytes) * Double(tally.ok) / Double(n) / 1e6 / seconds, 1))
            out("loadgen_cpu_seconds", fixed(Double(cpu) / 1e9, 2))
            printLatencies("latency", tally.latencies)
        }
    }
}

// MARK: - singles

struct SinglesOptions: ParsableArguments {
    @Option(help: "Distinct corpus O2VEND events to draw bodies from (each request gets a new Id).")
    var pool = 20_000
    @Option(help: "Tag in the first 8 hex digits of every Id (make it different for every run on one archive).")
    var tag: UInt32 = 1
    @Option(help: "Seconds of load before the measurement starts (not counted).")
    var warmup = 2.0
    @Option(help: "Seconds measured.")
    var seconds = 15.0
}

struct Singles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "1-event O2VEND requests over N connections, closed loop, for a fixed time.")

    @OptionGroup var corpus: CorpusOptions
    @OptionGroup var client: ClientOptions
    @OptionGroup var singles: SinglesOptions

    func run() async throws {
        let work = O2VendSingles(seed: corpus.seed, poolSize: singles.pool, tag: singles.tag)
        note("singles: \(work.pool.count) O2VEND events in the pool, \(work.averageBytes) bytes on average")
        let url = client.url
        let connections = client.connections
        let warmupNanos = Int(singles.warmup * 1e9)
        let measureNanos = Int(singles.seconds * 1e9)
        try await client.withClient { http in
            try await probe(http, url: url, body: work.body(Int(Int32.max)))
            let counter = Atomic<Int>(0)
            let start = nowNanos()
            let measureFrom = start + warmupNanos
            let end = measureFrom + measureNanos
            let cpu0 = Mutex<Int?>(nil)
            // A request counts if it was sent and answered inside the measured window.
            let (tally, warm) = await withTaskGroup(of: (Tally, Tally).self) { group in
                for _ in 0..<connections {
                    group.addTask {
                        var tally = Tally()
                        var warm = Tally()
                        while true {
                            let t = nowNanos()
                            if t >= end { break }
                            if t >= measureFrom { cpu0.withLock { if $0 == nil { $0 = cpuNanos() } } }
                            let i = counter.add(1, ordering: .relaxed).oldValue
                            let body = work.body(i)
                            let answer = await post(http, url: url, body: body)
                            let done = nowNanos()
                            if t >= measureFrom && done <= end {
                                tally.latencies.append(done - t)
                                tally.count(answer)
                                tally.bytesSent += body.readableBytes
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
            let seconds = Double(measureNanos) / 1e9
            tally.printOutcome()
            out("outside_window_requests", warm.total)
            out("outside_window_not_ok", warm.total - warm.ok)
            out("outside_window_stored", warm.stored)
            out("outside_window_duplicates", warm.duplicates)
            out("seconds", fixed(seconds, 3))
            out("req_per_s", Int(Double(tally.ok) / seconds))
            out("body_bytes_avg", tally.total == 0 ? 0 : tally.bytesSent / tally.total)
            out("loadgen_cpu_seconds", fixed(Double(cpu) / 1e9, 2))
            printLatencies("latency", tally.latencies)
        }
    }
}

// MARK: - paced

struct Paced: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "1-event O2VEND requests at a fixed rate, open loop: sends follow the schedule whatever the answers.")

    @OptionGroup var corpus: CorpusOptions
    @OptionGroup var client: ClientOptions
    @OptionGroup var singles: SinglesOptions
    @Option(help: "Requests per second.")
    var rate: Double
    @Option(help: "Requests in flight beyond which scheduled sends are skipped (and counted).")
    var maxInFlight = 10_000

    func run() async throws {
        let work = O2VendSingles(seed: corpus.seed, poolSize: singles.pool, tag: singles.tag)
        note("paced: \(work.pool.count) O2VEND events in the pool, \(fixed(rate, 0)) requests/s")
        let url = client.url
        let warmupNanos = Int(singles.warmup * 1e9)
        let measureNanos = Int(singles.seconds * 1e9)
        let rate = self.rate
        let maxInFlight = self.maxInFlight
        try await client.withClient { http in
            try await probe(http, url: url, body: work.body(Int(Int32.max)))
            struct Shared {
                var tally = Tally()
                var warm = Tally()
                /// From the scheduled send time (includes any lag of the sender: no coordinated omission).
                var fromSchedule: [Int] = []
                /// How late the sender was on its schedule.
                var lag: [Int] = []
            }
            let shared = Mutex(Shared())
            let inFlight = Atomic<Int>(0)
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
                    if inFlight.load(ordering: .relaxed) >= maxInFlight {
                        if due >= measureFrom { skipped += 1 }
                        continue
                    }
                    inFlight.add(1, ordering: .relaxed)
                    sent += 1
                    group.addTask {
                        let body = work.body(index)
                        let t = nowNanos()
                        let answer = await post(http, url: url, body: body)
                        let done = nowNanos()
                        inFlight.subtract(1, ordering: .relaxed)
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
            out("seconds", fixed(seconds, 3))
            out("loadgen_cpu_seconds", fixed(Double(cpu) / 1e9, 2))
            printLatencies("latency", s.tally.latencies)
            printLatencies("from_schedule", s.fromSchedule)
            printLatencies("send_lag", s.lag)
        }
    }
}
