import Foundation
import HooklogStore

@testable import HooklogReplay

/// A new archive in a temporary directory holding `events`, removed by `remove()`.
struct TestArchive {
    let directory: String

    init(_ events: [NewEvent]) async throws {
        directory = NSTemporaryDirectory() + "hooklog-replay-test-\(UUID().uuidString)"
        let store = try ArchiveStore.open(directory: directory)
        if !events.isEmpty { _ = try await store.append(events) }
        store.close()
    }

    /// `count` small events, entity `e(i % entities)`.
    init(count: Int, entities: Int = 3) async throws {
        try await self.init(
            (0..<count).map { i in
                NewEvent(
                    account: "a", source: "s", type: "t", entity: "e\(i % entities)", refs: [], id: nil,
                    payload: Array("{\"n\":\(i)}".utf8))
            })
    }

    func snapshot() throws -> ArchiveSnapshot { try ArchiveReader(directory: directory).snapshot() }

    /// The archive's events as replay reads them, in `seq` order.
    func events() throws -> [ReplayEvent] {
        var out: [ReplayEvent] = []
        try snapshot().forEachView(matching: .init()) { view in
            out.append(ReplayEvent(view, envelope: false))
            return true
        }
        return out
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
