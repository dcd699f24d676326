// `hooklog-loadgen extract`: the CPU side of ingest without HTTP or the store — how fast one thread
// validates and extracts the batches' request bodies — beside Foundation's JSONSerialization on the same
// bodies in the same run (the reference a JSON-decoding ingest would pay at the least).
import ArgumentParser
import Foundation
import HooklogIngest
import NIOCore

struct Extract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One thread: OrderspaceSource.extract and the JSON tape over the batches' bodies, beside JSONSerialization.")

    @OptionGroup var corpus: CorpusOptions
    @OptionGroup var batchOptions: BatchOptions
    @Option(help: "Seconds each measure runs.")
    var seconds = 3.0

    func run() async throws {
        let work = OrderspaceBatches(seed: corpus.seed, batches: batchOptions.batches, size: batchOptions.batchSize)
        let bodies = work.bodies.map { Array($0.readableBytesView) }
        note("extract: \(bodies.count) bodies, \(work.bodyBytes / max(1, bodies.count)) bytes on average")
        var sink = 0
        func measure(_ name: String, _ body: ([UInt8]) throws -> Int) rethrows {
            let start = nowNanos()
            var bytes = 0
            var n = 0
            while nowNanos() - start < Int(seconds * 1e9) {
                let b = bodies[n % bodies.count]
                sink &+= try body(b)
                bytes += b.count
                n += 1
            }
            let elapsed = Double(nowNanos() - start) / 1e9
            out("\(name)_mb_per_s", fixed(Double(bytes) / 1e6 / elapsed, 1))
            out("\(name)_bodies_per_s", Int(Double(n) / elapsed))
        }
        try measure("tape") { try JSONTape(parsing: $0).kind(0) == .array ? 1 : 0 }
        try measure("extract") { try OrderspaceSource.extract(body: $0).count }
        try measure("jsonserialization") { (try JSONSerialization.jsonObject(with: Data($0)) as? [Any])?.count ?? 0 }
        out("sink", sink)
    }
}
