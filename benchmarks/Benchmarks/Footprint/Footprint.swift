// What the big archive costs to keep: bytes on disk (the whole data directory, indexes included, as du
// counts it) beside the corpus as NDJSON and beside the SQLite file; and resident memory with a reader open.
import BenchSupport
import Benchmark
import Foundation
import HooklogStore

var once: Benchmark.Configuration { .init(
    metrics: [.wallClock, .peakMemoryResident, .custom("MB", polarity: .prefersSmaller, useScalingFactor: false)],
    warmupIterations: 0, maxIterations: 1) }

func megabytes(_ bytes: UInt64) -> Double { Double(bytes) / 1e6 }

let benchmarks: @Sendable () -> Void = {
    Benchmark(
        "bytes-on-disk", configuration: once,
        closure: { benchmark in
            let archive = BigArchive()
            guard let manifest = archive.manifest else { return benchmark.error("no big archive") }
            let hooklog = diskUsage(archive.hooklogDirectory).allocated
            benchmark.measurement(.custom("MB", polarity: .prefersSmaller, useScalingFactor: false), Int(hooklog >> 20))
            Results.record([
                "disk.hooklog.MB": megabytes(hooklog),
                "disk.ndjson.MB": megabytes(UInt64(manifest.int("ndjsonBytes"))),
                "disk.sqlite.MB": megabytes(UInt64(manifest.int("sqliteBytes"))),
            ])
        },
        setup: { try await BigArchive().ensure() })

    Benchmark(
        "rss-with-archive-open", configuration: once,
        closure: { benchmark in
            let archive = BigArchive()
            // Only the 2000-entity sample: loading the full entity list would itself cost memory.
            let sample = archive.entities(sampleOnly: true)
            let baseline = residentMemory().current
            do {
                let reader = try ArchiveReader(directory: archive.hooklogDirectory)
                let snapshot = try reader.snapshot()
                for e in sample.prefix(200) { blackHole(try snapshot.events(matching: EventFilter(entity: e))) }
                for e in sample.dropFirst(200).prefix(50) { blackHole(try snapshot.events(matching: EventFilter(ref: e))) }
                blackHole(try snapshot.events(matching: EventFilter(type: "order.*"), reverse: true, limit: 100))
                blackHole(try snapshot.events(matching: EventFilter(account: "harbour-lane"), limit: 1000))
                let rss = residentMemory()
                benchmark.measurement(.custom("MB", polarity: .prefersSmaller, useScalingFactor: false), rss.current >> 20)
                Results.record(["rss.hooklog.MB": Double(rss.current) / 1e6, "rss.baseline.MB": Double(baseline) / 1e6])
                print("rss: VmRSS \(rss.current >> 20) MiB, VmHWM \(rss.peak >> 20) MiB, before opening \(baseline >> 20) MiB")
                blackHole(reader)
            } catch {
                benchmark.error("\(error)")
            }
        },
        setup: { try await BigArchive().ensure() })
}
