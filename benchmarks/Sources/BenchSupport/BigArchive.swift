import Corpus
import Foundation
import HooklogStore

/// The big archive the read benchmarks run on, built once from the corpus and cached under the data
/// root: the hooklog data directory, the same events in SQLite, and what the benchmarks need to know.
///
/// The cache is keyed by event count and seed; a directory without its `manifest` (an interrupted
/// build) is rebuilt.
public struct BigArchive: Sendable {
    public let directory: String
    public let eventCount: Int
    public let seed: UInt64
    public var hooklogDirectory: String { directory + "/hooklog" }
    public var sqlitePath: String { directory + "/sqlite/events.db" }
    public var manifestPath: String { directory + "/manifest" }

    public init(eventCount: Int = BenchEnv.bigEventCount, seed: UInt64 = BenchEnv.seed) {
        self.eventCount = eventCount
        self.seed = seed
        // "rest": built at rest (below); "dict": sealed segments with dictionaries (format 2). Archives
        // cached before either are rebuilt.
        directory = BenchEnv.dataRoot + "/archive-\(eventCount)-seed\(seed)-corpus1-rest-dict"
    }

    /// What the build measured.
    public struct Manifest: Sendable {
        public var values: [String: String]
        public func int(_ key: String) -> Int { Int(values[key] ?? "") ?? 0 }
    }

    public var manifest: Manifest? {
        guard let text = try? String(contentsOfFile: manifestPath, encoding: .utf8) else { return nil }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return Manifest(values: values)
    }

    /// Builds the archive unless a complete one is cached; returns its manifest.
    @discardableResult
    public func ensure(log: (String) -> Void = { print($0) }) async throws -> Manifest {
        if let m = manifest { return m }
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory + "/sqlite", withIntermediateDirectories: true)
        log("building the big archive: \(eventCount) events (seed \(seed)) in \(directory) ...")
        let count = eventCount
        let seed = seed
        let sqlitePath = sqlitePath
        // SQLite on its own thread, the store on this task: the two builds share the machine's 2 cores.
        let sqliteBuild = Task.detached { () throws -> [String: String] in
            let start = nanos()
            let db = try SQLiteReference(path: sqlitePath, synchronous: "OFF")
            var generator = CorpusGenerator(seed: seed)
            var remaining = count
            var ndjson = 0
            let line = JSONBytes(capacity: 8192)
            var receivedAt = Int64(1_767_600_000_000_000)
            while remaining > 0 {
                // One transaction per 1000 events: the build is not the benchmark, the file is the same.
                let batch = generator.take(min(1000, remaining))
                for e in batch {
                    line.reset()
                    e.appendNDJSON(to: line)
                    ndjson += line.count
                }
                try db.insert(batch, receivedAt: receivedAt)
                receivedAt += 1_000_000
                remaining -= batch.count
            }
            try db.checkpoint()
            db.close()
            let size = diskUsage(sqlitePath).allocated + diskUsage(sqlitePath + "-wal").allocated
            return [
                "ndjsonBytes": String(ndjson), "sqliteBytes": String(size),
                "sqliteBuildSeconds": String(Double(nanos() - start) / 1e9),
            ]
        }
        let start = nanos()
        var options = StoreOptions()
        options.durable = false  // building the fixture, not measuring appends: same files, no fdatasync
        // The archive at rest, as a server leaves it once ingest is quiet: every sealed segment
        // recompressed with LZ4HC. A bulk load runs far above `recompressionYieldsAbove`, so by default
        // the segments would wait, fast LZ4 (23 % larger), for a quiet moment the build never gives.
        options.recompressionYieldsAbove = nil
        options.finishesRecompressionOnClose = true
        let store = try ArchiveStore.open(directory: hooklogDirectory, options: options)
        var generator = CorpusGenerator(seed: seed)
        var remaining = count
        var payloadBytes = 0
        var entities = Set<String>()
        while remaining > 0 {
            let batch = generator.take(min(50, remaining))
            for e in batch {
                payloadBytes += e.payload.count
                if let entity = e.entity { entities.insert(entity) }
            }
            _ = try await store.append(batch.map(\.newEvent))
            remaining -= batch.count
        }
        store.close()
        let hooklogSeconds = Double(nanos() - start) / 1e9
        log("  hooklog: \(count) events in \(String(format: "%.1f", hooklogSeconds)) s; waiting for SQLite ...")
        var values = try await sqliteBuild.value
        values["events"] = String(count)
        values["seed"] = String(seed)
        values["payloadBytes"] = String(payloadBytes)
        values["distinctEntities"] = String(entities.count)
        values["hooklogBuildSeconds"] = String(hooklogSeconds)
        // Entities in a seeded random order: benchmarks take a prefix of this as their random picks.
        var order = Array(entities).sorted()
        var rng = SplitMix64(seed: seed ^ 0xE171)
        order.shuffle(using: &rng)
        try order.joined(separator: "\n").write(toFile: directory + "/entities.txt", atomically: true, encoding: .utf8)
        try order.prefix(2000).joined(separator: "\n").write(
            toFile: directory + "/sample-entities.txt", atomically: true, encoding: .utf8)
        let text = values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n") + "\n"
        try text.write(toFile: manifestPath, atomically: true, encoding: .utf8)  // last: marks the cache complete
        log("  SQLite: \(values["sqliteBuildSeconds"] ?? "?") s. Done.")
        return manifest!
    }

    /// The entities in the archive, in a seeded random order (`limit` first).
    public func entities(limit: Int? = nil, sampleOnly: Bool = false) -> [String] {
        let file = directory + (sampleOnly ? "/sample-entities.txt" : "/entities.txt")
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        let all = text.split(separator: "\n")
        return (limit.map { Array(all.prefix($0)) } ?? all).map(String.init)
    }
}
