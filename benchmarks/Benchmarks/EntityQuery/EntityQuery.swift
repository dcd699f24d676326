// One entity's events on the big archive (HOOKLOG_BENCH_EVENTS events), warm: hooklog's ArchiveReader
// query by entity for random entities beside SQLite's indexed `SELECT ... WHERE entity=?` on the same data.
import BenchSupport
import Benchmark
import HooklogStore

let maxQueries = 50_000
let warmup = 2_000

var configuration: Benchmark.Configuration { .init(
    metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
    warmupIterations: 0, maxDuration: .seconds(10), maxIterations: maxQueries) }

nonisolated(unsafe) var entities: [String] = []
nonisolated(unsafe) var next = 0
nonisolated(unsafe) var snapshot: ArchiveSnapshot?
nonisolated(unsafe) var sqlite: SQLiteReference?
let samples = Samples()

/// The same random entities, in the same order, for both sides (drawn uniformly from the archive's
/// distinct entities: mostly orders, dispatches and invoices with a few events; some SKUs with thousands).
func loadEntities(_ archive: BigArchive) {
    let all = archive.entities()
    entities = (0..<(maxQueries + warmup)).map { all[$0 % all.count] }
    next = 0
}

let benchmarks: @Sendable () -> Void = {
    Benchmark(
        "entity-query/hooklog", configuration: configuration,
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                let entity = entities[warmup + next % maxQueries]
                next += 1
                let t0 = nanos()
                let events = try snapshot!.events(matching: EventFilter(entity: entity))
                samples.add(nanos: nanos() - t0, events: events.count)
                blackHole(events)
            }
        },
        setup: {
            let archive = BigArchive()
            try await archive.ensure()
            loadEntities(archive)
            snapshot = try ArchiveReader(directory: archive.hooklogDirectory).snapshot()
            for e in entities.prefix(warmup) { blackHole(try snapshot!.events(matching: EventFilter(entity: e))) }
        },
        teardown: {
            Results.record([
                "query.hooklog.p50us": samples.percentileMicros(50), "query.hooklog.p99us": samples.percentileMicros(99),
            ])
        })

    Benchmark(
        "entity-query/SQLite indexed", configuration: configuration,
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                let entity = entities[warmup + next % maxQueries]
                next += 1
                let t0 = nanos()
                let rows = try sqlite!.events(entity: entity)
                samples.add(nanos: nanos() - t0, events: rows.count)
                blackHole(rows)
            }
        },
        setup: {
            let archive = BigArchive()
            try await archive.ensure()
            loadEntities(archive)
            sqlite = try SQLiteReference(path: archive.sqlitePath)
            for e in entities.prefix(warmup) { blackHole(try sqlite!.events(entity: e)) }
        },
        teardown: {
            sqlite?.close()
            Results.record([
                "query.sqlite.p50us": samples.percentileMicros(50), "query.sqlite.p99us": samples.percentileMicros(99),
            ])
        })
}
