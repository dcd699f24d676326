// swift-tools-version:6.0
import PackageDescription

// hooklog's fuzzing targets: a package of their own, like the benchmarks, so that the main build and CI
// never compile with sanitizers. `fuzz/run.sh` builds everything and runs each target; see fuzz/README.md.
//
// - fuzz-json:    libFuzzer target over the JSON tape and the Orderspace/O2VEND/generic extractors.
// - fuzz-segment: libFuzzer target over segment (.log) and index (.idx) files read through the store.
// - fuzz-parse:   libFuzzer target over the other parsers of outside text, chosen by the first byte: the
//                 signature headers, times, durations, sizes, the /v1/events query string, JSON pointers.
// - fuzz-seed:    an ordinary executable that writes the seed corpora (built without sanitizers).
let package = Package(
    name: "hooklog-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "hooklog", path: "..")
    ],
    targets: [
        // The declaration of libFuzzer's `LLVMFuzzerRunDriver`, which each target's `@main` calls.
        .target(name: "CLibFuzzer"),
        .executableTarget(
            name: "fuzz-json",
            dependencies: [
                "CLibFuzzer", .product(name: "HooklogIngest", package: "hooklog"),
                .product(name: "HooklogStore", package: "hooklog"),
            ]
        ),
        .executableTarget(
            name: "fuzz-segment",
            dependencies: ["CLibFuzzer", .product(name: "HooklogStore", package: "hooklog")]
        ),
        .executableTarget(
            name: "fuzz-parse",
            dependencies: [
                "CLibFuzzer", .product(name: "HooklogIngest", package: "hooklog"),
                .product(name: "HooklogStore", package: "hooklog"), .product(name: "HooklogSigning", package: "hooklog"),
            ]
        ),
        .executableTarget(
            name: "fuzz-seed",
            dependencies: [.product(name: "HooklogStore", package: "hooklog")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
