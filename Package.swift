// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "hooklog",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hooklog", targets: ["hooklog"]),
        .library(name: "HooklogStore", targets: ["HooklogStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0")
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
        // The archive store: log format, segments, indexes, group commit. No HTTP in here.
        .target(
            name: "HooklogStore",
            dependencies: ["CLZ4", "CCRC32C"]
        ),
        // Webhook ingest: the JSON tape, the Orderspace/O2VEND/generic mappings. No HTTP server in here.
        .target(name: "HooklogIngest", dependencies: ["HooklogStore"]),
        .executableTarget(
            name: "hooklog",
            dependencies: [
                "HooklogStore",
                "CZlib",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "HooklogStoreTests", dependencies: ["HooklogStore"]),
        .testTarget(name: "HooklogIngestTests", dependencies: ["HooklogIngest"]),
        // End to end on the built binary's printed output.
        .testTarget(name: "HooklogCLITests", dependencies: ["HooklogStore", "hooklog"]),
    ],
    swiftLanguageModes: [.v6]
)
