// swift-tools-version:6.1
import PackageDescription

// hooklog's benchmarks: a package of their own so that the main build and CI stay light.
// `benchmarks/run.sh` builds everything in release and runs it; see benchmarks/README.md.
let package = Package(
    name: "hooklog-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "hooklog", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
        // The ingest benchmark (ingest/run.sh): an HTTP load generator and a no-op Hummingbird server.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The references the store is measured against: SQLite and raw liblz4, as the system ships them.
        .systemLibrary(
            name: "CSQLite3",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
        ),
        // The root package's CLZ4 is not a product, so the benchmarks bring their own module for liblz4.
        .systemLibrary(
            name: "CLZ4Bench",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]
        ),
        // Deterministic, realistic Orderspace and O2VEND events (no dependencies: usable by tests and tools).
        .target(name: "Corpus"),
        // What every benchmark shares: the cached big archive, the SQLite and LZ4 references, the report.
        .target(
            name: "BenchSupport",
            dependencies: [
                "Corpus", "CSQLite3", "CLZ4Bench",
                .product(name: "HooklogStore", package: "hooklog"),
            ]
        ),
        .executableTarget(name: "hooklog-corpus", dependencies: ["Corpus"]),
        .executableTarget(name: "hooklog-bench-prepare", dependencies: ["BenchSupport"]),
        .executableTarget(name: "hooklog-bench-report", dependencies: ["BenchSupport"]),
        // ingest/run.sh: in-process durable append of corpus batches (the reference), and HTTP load on
        // `hooklog serve` or the no-op server: closed loop over N connections, or open loop at a fixed rate.
        .executableTarget(
            name: "hooklog-loadgen",
            dependencies: [
                "Corpus",
                .product(name: "HooklogStore", package: "hooklog"),
                .product(name: "HooklogIngest", package: "hooklog"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // ingest/run.sh's HTTP reference: a Hummingbird 2 app whose POST routes collect the body and answer
        // 200 `{}`, configured as `hooklog serve` is (HTTP/1.1, same idle timeout, default event loops).
        .executableTarget(
            name: "hooklog-noop-server",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// One executable a benchmark suite, in Benchmarks/<Name>/<Name>.swift, as the BenchmarkPlugin expects.
for name in ["Append", "EntityQuery", "FullScan", "Footprint"] {
    package.targets.append(
        .executableTarget(
            name: name,
            dependencies: [
                "BenchSupport", "Corpus",
                .product(name: "HooklogStore", package: "hooklog"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/\(name)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    )
}
