// Builds (once) the big archive the read benchmarks use: HOOKLOG_BENCH_EVENTS events (default 1 M) in
// hooklog and in SQLite, cached under benchmarks/.data.
import BenchSupport

let archive = BigArchive()
let manifest = try await archive.ensure()
print("big archive: \(archive.directory)")
for (k, v) in manifest.values.sorted(by: { $0.key < $1.key }) { print("  \(k) = \(v)") }
