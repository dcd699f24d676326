import Foundation

@testable import HooklogStore

/// A fresh directory under the system temp dir, removed when the test's scope ends.
final class TempDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "hooklog-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var logDirectory: String { path + "/log" }

    func segmentFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: logDirectory)) ?? []).filter { $0.hasSuffix(".log") }
            .sorted()
            .map { logDirectory + "/" + $0 }
    }

    func indexFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: logDirectory)) ?? []).filter { $0.hasSuffix(".idx") }
            .sorted()
            .map { logDirectory + "/" + $0 }
    }
}

/// The example deliveries in `Tests/Fixtures` (see its README).
enum Fixtures {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures").path
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: root + "/" + name)))
    }

    /// Every good fixture body, by name.
    static func goodBodies() throws -> [(String, [UInt8])] {
        let names = [
            "orderspace/batch-mixed.json", "orderspace/bulk-stock-50.json", "orderspace/single-object.json",
            "orderspace/unknown-type.json", "o2vend/order-create.json", "o2vend/order-update-retry.json",
            "o2vend/product-create.json", "o2vend/shipment-delivered.json", "o2vend/stock-quantity-update.json",
            "generic/standard-webhooks.json", "generic/stripe-style.json",
        ]
        return try names.map { ($0, try bytes($0)) }
    }
}

/// Deterministic pseudo-random numbers for property tests (SplitMix64).
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Makes events for an order's life: the order's own events and the SKUs and customer they mention.
func orderEvents(order: Int, count: Int, account: String = "acme", padding: Int = 200) -> [NewEvent] {
    (0..<count).map { i in
        let type = ["order.created", "order.updated", "dispatch.created", "invoice.created"][i % 4]
        let entity = i % 4 >= 2 ? "x\(order)-\(i)" : "or_\(order)"
        let payload =
            "{\"event\":\"\(type)\",\"data\":{\"order\":{\"id\":\"or_\(order)\",\"n\":\(i),\"note\":\"\(String(repeating: "z", count: padding))\"}}}"
        return NewEvent(
            account: account, source: "orderspace", type: type, entity: entity,
            refs: i % 4 >= 2 ? ["or_\(order)", "SKU-\(order % 7)"] : ["SKU-\(order % 7)", "cu_\(order % 3)"], id: nil,
            payload: Array(payload.utf8))
    }
}

/// The frames of the segment file at `path` whose first seq is 1, as a reader scans them.
func frames(of path: String) -> [FrameInfo] {
    let bytes = read(path)
    return SegmentScanner.scan(
        Array(bytes[FileHeader.size...]), fileOffset: UInt64(FileHeader.size), expectedSeq: 1, blockStart: nil,
        resync: true, path: path
    ).frames
}

func read(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

func write(_ bytes: [UInt8], to path: String) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// Options with tiny segments and blocks so tests cross every boundary quickly.
func smallOptions(segmentSize: Int = 8 << 10, blockSize: Int = 2 << 10) -> StoreOptions {
    var o = StoreOptions()
    o.segmentSize = segmentSize
    o.blockSize = blockSize
    // Tests look at every sealed segment: none may skip recompression for a backlog.
    o.recompressionBacklog = .max
    o.recompressionYieldsAbove = nil  // nor wait for ingest to be quiet
    o.finishesRecompressionOnClose = true
    return o
}

/// Edits the body of a version 2 index file (`edit` gets the file's bytes and where the body starts),
/// then makes its page checksums and its page table's checksum right again: for tests of what a reader
/// does with an index whose checksums hold but whose contents do not make sense.
func patchIndexBody(_ path: String, _ edit: (inout [UInt8], Int) -> Void) {
    var bytes = read(path)
    let t = FileHeader.size
    let count = Int(bytes.loadU32(at: t))
    let bodyStart = t + 4 + 4 * count + 4
    edit(&bytes, bodyStart)
    let crcs = PageChecksums.checksums(of: Array(bytes[bodyStart...]))
    precondition(crcs.count == count, "the edit must keep the body's length")
    func put(_ v: UInt32, at o: Int) { for i in 0..<4 { bytes[o + i] = UInt8(truncatingIfNeeded: v >> UInt32(8 * i)) } }
    for (i, c) in crcs.enumerated() { put(c, at: t + 4 + 4 * i) }
    put(CRC32C.checksum(bytes[t..<(bodyStart - 4)]), at: bodyStart - 4)
    write(bytes, to: path)
}

/// Opens a store on `dir` with `options`, appends each batch (one commit each), and closes it.
func append(_ batches: some Sequence<[NewEvent]>, to dir: TempDirectory, options: StoreOptions) async throws {
    let store = try ArchiveStore.open(directory: dir.path, options: options)
    for batch in batches { _ = try await store.append(batch) }
    store.close()
}
