// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "hooklog",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hooklog", targets: ["hooklog"]),
        .library(name: "HooklogStore", targets: ["HooklogStore"]),
        .library(name: "HooklogIngest", targets: ["HooklogIngest"]),
        // For the fuzz package's signature target (fuzz/); nothing else outside depends on it.
        .library(name: "HooklogSigning", targets: ["HooklogSigning"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
    ],
    targets: [
        // liblz4 exactly as the system ships it; nothing but the header and the link line.
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]
        ),
        // zlib for `export --output FILE.gz`: the system's deflate (gzip -6 compatible), no extra package.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        // CRC32C (Castagnoli) with the SSE4.2 instruction where the CPU has it: hand-written because
        // a table-driven software CRC is several times slower and every frame and index is checksummed.
        .target(name: "CCRC32C"),
        // JSON minification for export's NDJSON lines, 64 bytes at a time with SSE2: hand-written because
        // it is export's hot loop and several times faster than the byte-at-a-time or memchr version.
        .target(name: "CJSONMinify"),
        // The validating JSON pass of ingest (the tape's tokens), with an SSE2 string scan: hand-written in
        // C because it is the ingest hot path and measured faster than the same parser in Swift.
        .target(name: "CJSONTape"),
        // Thread names and per-thread priority (pthread_setname_np, gettid need _GNU_SOURCE).
        .target(name: "CThread"),
        // glibc malloc's thresholds, for the executable (see Sources/hooklog/main.swift).
        .target(name: "CMallocTuning"),
        // The archive store: log format, segments, indexes, group commit. No HTTP in here.
        .target(
            name: "HooklogStore",
            dependencies: ["CLZ4", "CCRC32C", "CJSONMinify", "CThread", .product(name: "Metrics", package: "swift-metrics")]
        ),
        // HMAC signatures (Orderspace, Standard Webhooks, Stripe, plain HMAC), token hashing and
        // constant-time comparison: shared by ingest (verifying) and replay (signing).
        .target(name: "HooklogSigning", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Webhook ingest: the JSON tape, the Orderspace/O2VEND/generic mappings, accounts, and the
        // Hummingbird routes that put deliveries into the store.
        .target(
            name: "HooklogIngest",
            dependencies: [
                "HooklogStore", "HooklogSigning", "CJSONTape",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]),
        // Replay: archived events to any webhook URL, shaped, signed, paced and resumable.
        .target(
            name: "HooklogReplay",
            dependencies: [
                "HooklogStore", "HooklogSigning",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "hooklog",
            dependencies: [
                "HooklogStore",
                "HooklogIngest",
                "HooklogReplay",
                "HooklogSigning",
                "CZlib",
                "CMallocTuning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // A webhook receiver for replay tests and benchmarks (tools/sink): counts, verifies, fails on purpose.
        .executableTarget(
            name: "hooklog-sink",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "tools/sink"),
        .testTarget(name: "HooklogStoreTests", dependencies: ["HooklogStore", "CJSONMinify"]),
        .testTarget(name: "HooklogReplayTests", dependencies: ["HooklogReplay", "HooklogStore"]),
        .testTarget(name: "HooklogSigningTests", dependencies: ["HooklogSigning"]),
        .testTarget(
            name: "HooklogIngestTests",
            dependencies: [
                "HooklogIngest", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]),
        // End to end on the built binary's printed output.
        .testTarget(
            name: "HooklogCLITests",
            dependencies: [
                "HooklogStore", "hooklog",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
