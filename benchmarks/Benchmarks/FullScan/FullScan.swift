// A full scan of the big archive (a query with no filter, every event decoded and handed over) beside raw
// LZ4_decompress_safe over the same corpus payload bytes compressed in 128 KB chunks.
import BenchSupport
import Benchmark
import Corpus
import HooklogStore

var configuration: Benchmark.Configuration { .init(
    metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
    warmupIterations: 0, maxDuration: .seconds(20), maxIterations: 5) }

nonisolated(unsafe) var snapshot: ArchiveSnapshot?
nonisolated(unsafe) var chunks: [LZ4Reference.Chunk] = []
let samples = Samples()

let benchmarks: @Sendable () -> Void = {
    // The main figure: events handed out in place (EventView), each payload touched — what an export or a
    // replay does, and the closest to the reference, which also only produces the bytes.
    Benchmark(
        "full-scan/hooklog forEachView", configuration: configuration,
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                var bytes = 0
                var events = 0
                var checksum: UInt8 = 0
                let t0 = nanos()
                try snapshot!.forEachView(matching: EventFilter()) { view in
                    bytes += view.payloadCount
                    events += 1
                    checksum ^= view.withPayload { $0.last ?? 0 }
                    return true
                }
                samples.add(nanos: nanos() - t0, bytes: bytes, events: events)
                blackHole(checksum)
            }
        },
        setup: {
            let archive = BigArchive()
            try await archive.ensure()
            snapshot = try ArchiveReader(directory: archive.hooklogDirectory).snapshot()
        },
        teardown: {
            Results.record(["scan.hooklog.MBps": samples.megabytesPerSecond, "scan.hooklog.eps": samples.eventsPerSecond])
        })

    // Every event materialised as a `StoredEvent` (strings and a payload array each): the cost of `forEach`.
    Benchmark(
        "full-scan/hooklog forEach StoredEvent", configuration: configuration,
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                var bytes = 0
                var events = 0
                let t0 = nanos()
                try snapshot!.forEach(matching: EventFilter()) { event in
                    bytes += event.payload.count
                    events += 1
                    return true
                }
                samples.add(nanos: nanos() - t0, bytes: bytes, events: events)
            }
        },
        setup: {
            let archive = BigArchive()
            try await archive.ensure()
            snapshot = try ArchiveReader(directory: archive.hooklogDirectory).snapshot()
        },
        teardown: {
            Results.record(["scan.stored.MBps": samples.megabytesPerSecond, "scan.stored.eps": samples.eventsPerSecond])
        })

    Benchmark(
        "full-scan/raw LZ4_decompress_safe", configuration: configuration,
        closure: { benchmark in
            var buffer: [UInt8] = []
            for _ in benchmark.scaledIterations {
                let t0 = nanos()
                let bytes = LZ4Reference.decompressAll(chunks, buffer: &buffer)
                samples.add(nanos: nanos() - t0, bytes: bytes)
            }
        },
        setup: {
            let archive = BigArchive()
            var generator = CorpusGenerator(seed: archive.seed)
            let n = archive.eventCount
            chunks = LZ4Reference.chunks(of: (0..<n).lazy.map { _ in generator.next()!.payload }, chunkSize: 128 << 10)
        },
        teardown: {
            Results.record(["scan.lz4.MBps": samples.megabytesPerSecond])
        })
}
