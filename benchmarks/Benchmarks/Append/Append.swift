// Durable appends of batches of 50 events: hooklog (`try await store.append(events)`, fdatasync before it
// returns) beside raw LZ4_compress_default over the same payload bytes and beside SQLite (WAL,
// synchronous=FULL, one transaction per batch); sequentially, and from 8 appenders at once on both sides.
import BenchSupport
import Benchmark
import Corpus
import Dispatch
import Foundation
import HooklogStore

/// Batches to append: enough that no batch is appended twice (a repeated O2VEND event would be a
/// duplicate, skipped, and flatter the store).
let batchCount = 4000
let batchSize = 50

var configuration: Benchmark.Configuration { .init(
    metrics: [.wallClock, .throughput, .cpuTotal, .syscalls, .mallocCountTotal],
    warmupIterations: 0, maxDuration: .seconds(8), maxIterations: batchCount) }

// State of the one benchmark this process runs (the runner starts a process per benchmark and calls
// setup, the iterations and teardown one after another).
nonisolated(unsafe) var batches: [[CorpusEvent]] = []
nonisolated(unsafe) var newEvents: [[NewEvent]] = []
nonisolated(unsafe) var payloads: [[UInt8]] = []
nonisolated(unsafe) var next = 0
nonisolated(unsafe) var store: ArchiveStore?
nonisolated(unsafe) var sqlite: SQLiteReference?
/// Serialises the 8 writer threads of the concurrent SQLite reference on its one connection.
let sqliteLock = NSLock()
nonisolated(unsafe) var scratch = ""
let samples = Samples()

func makeBatches() {
    var generator = CorpusGenerator(seed: BenchEnv.seed &+ 1)
    batches = generator.batches(batchCount, of: batchSize)
    next = 0
}

/// The batches, and a durable (`synchronous=FULL`) SQLite database in a scratch directory called `name`.
func openSQLite(_ name: String) throws {
    makeBatches()
    scratch = try BenchEnv.scratchDirectory(name)
    sqlite = try SQLiteReference(path: scratch + "/events.db", synchronous: "FULL")
}

/// Closes and removes the database, and records its rates as `<key>.MBps` and `<key>.eps`.
func closeSQLite(recordingAs key: String) {
    sqlite?.close()
    sqlite = nil
    BenchEnv.removeTree(scratch)
    Results.record([key + ".MBps": samples.megabytesPerSecond, key + ".eps": samples.eventsPerSecond])
}

func payloadBytes(_ batch: [CorpusEvent]) -> Int { batch.reduce(0) { $0 + $1.payload.count } }

let benchmarks: @Sendable () -> Void = {
    Benchmark(
        "append-50/hooklog", configuration: configuration,
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                let batch = newEvents[next % batchCount]
                let bytes = payloadBytes(batches[next % batchCount])
                next += 1
                let t0 = nanos()
                _ = try await store!.append(batch)
                samples.add(nanos: nanos() - t0, bytes: bytes, events: batch.count)
            }
        },
        setup: {
            makeBatches()
            newEvents = batches.map { $0.map(\.newEvent) }
            scratch = try BenchEnv.scratchDirectory("append-hooklog")
            store = try ArchiveStore.open(directory: scratch)
        },
        teardown: {
            store?.close()
            store = nil
            BenchEnv.removeTree(scratch)
            Results.record(["append.hooklog.MBps": samples.megabytesPerSecond, "append.hooklog.eps": samples.eventsPerSecond])
        })

    // The same batches from 8 tasks at once, as a busy server appends: batches that arrive during an
    // fdatasync share the next one (group commit). One iteration = 8 batches.
    Benchmark(
        "append-50/hooklog 8 concurrent appenders",
        configuration: .init(
            metrics: [.wallClock, .throughput, .cpuTotal, .syscalls, .mallocCountTotal],
            warmupIterations: 0, maxDuration: .seconds(8), maxIterations: batchCount / 8),
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                let first = next
                next += 8
                let work = (first..<(first + 8)).map { newEvents[$0 % batchCount] }
                let bytes = (first..<(first + 8)).reduce(0) { $0 + payloadBytes(batches[$1 % batchCount]) }
                let s = store!
                let t0 = nanos()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for batch in work { group.addTask { _ = try await s.append(batch) } }
                    try await group.waitForAll()
                }
                samples.add(nanos: nanos() - t0, bytes: bytes, events: 8 * batchSize)
            }
        },
        setup: {
            makeBatches()
            newEvents = batches.map { $0.map(\.newEvent) }
            scratch = try BenchEnv.scratchDirectory("append-hooklog8")
            store = try ArchiveStore.open(directory: scratch)
        },
        teardown: {
            store?.close()
            store = nil
            BenchEnv.removeTree(scratch)
            Results.record(["append8.hooklog.MBps": samples.megabytesPerSecond, "append8.hooklog.eps": samples.eventsPerSecond])
        })

    Benchmark(
        "append-50/raw LZ4_compress_default", configuration: configuration,
        closure: { benchmark in
            var out: [UInt8] = []
            for _ in benchmark.scaledIterations {
                let input = payloads[next % batchCount]
                next += 1
                let t0 = nanos()
                // The batch's payloads concatenated, compressed in chunks of at most 64 KB.
                input.withUnsafeBytes { all in
                    var offset = 0
                    while offset < all.count {
                        let n = min(64 << 10, all.count - offset)
                        blackHole(LZ4Reference.compress(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)]), into: &out))
                        offset += n
                    }
                }
                samples.add(nanos: nanos() - t0, bytes: input.count, events: batchSize)
            }
        },
        setup: {
            makeBatches()
            payloads = batches.map { $0.flatMap(\.payload) }
        },
        teardown: {
            Results.record(["append.lz4.MBps": samples.megabytesPerSecond])
        })

    // The reference for the 8-appender row: 8 threads appending at once to SQLite, as fast as SQLite
    // allows. SQLite has one writer at a time; 8 connections with a busy timeout measured 2.15 MB/s
    // (its busy handler sleeps between retries), so the threads share one connection behind a lock
    // instead: each transaction still commits (and fsyncs) on its own, with no sleeping in between.
    // Threads, not tasks: the calls block, and the cooperative pool has one thread a core.
    Benchmark(
        "append-50/SQLite 8 concurrent writers",
        configuration: .init(
            metrics: [.wallClock, .throughput, .cpuTotal, .syscalls],
            warmupIterations: 0, maxDuration: .seconds(8), maxIterations: batchCount / 8),
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                let first = next
                next += 8
                let work = (first..<(first + 8)).map { batches[$0 % batchCount] }
                let bytes = work.reduce(0) { $0 + payloadBytes($1) }
                let t0 = nanos()
                let done = DispatchGroup()
                let writer = sqlite!
                for batch in work {
                    done.enter()
                    Thread {
                        sqliteLock.lock()
                        do { try writer.insert(batch, receivedAt: Int64(t0 / 1000)) } catch { fatalError("\(error)") }
                        sqliteLock.unlock()
                        done.leave()
                    }.start()
                }
                done.wait()
                samples.add(nanos: nanos() - t0, bytes: bytes, events: 8 * batchSize)
            }
        },
        setup: { try openSQLite("append-sqlite8") },
        teardown: { closeSQLite(recordingAs: "append8.sqlite") })

    Benchmark(
        "append-50/SQLite WAL synchronous=FULL", configuration: configuration,
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                let batch = batches[next % batchCount]
                next += 1
                let t0 = nanos()
                try sqlite!.insert(batch, receivedAt: Int64(t0 / 1000))
                samples.add(nanos: nanos() - t0, bytes: payloadBytes(batch), events: batch.count)
            }
        },
        setup: { try openSQLite("append-sqlite") },
        teardown: { closeSQLite(recordingAs: "append.sqlite") })
}
