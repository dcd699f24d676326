import Foundation
import HooklogStore
import Testing

@testable import HooklogReplay

/// The parts of replay that CLI tests cannot reach one by one: the built-in client's URL and header
/// rules, the webhook ID, and how payloads share or copy their decoded blocks.
@Suite struct ReplayPartsTests {
    @Test func plainHTTPTargetsAreSplitOrLeftToAsyncHTTPClient() throws {
        typealias Target = PlainHTTPConnection.Target
        let a = try #require(Target("http://127.0.0.1:8080/hooks?x=1#frag"))
        #expect(a.host == "127.0.0.1" && a.port == 8080 && a.path == "/hooks?x=1" && a.hostHeader == "127.0.0.1:8080")
        let b = try #require(Target("HTTP://example.com"))
        #expect(b.host == "example.com" && b.port == 80 && b.path == "/" && b.hostHeader == "example.com")
        let c = try #require(Target("http://[::1]:9000/a"))
        #expect(c.host == "::1" && c.port == 9000 && c.path == "/a" && c.hostHeader == "[::1]:9000")
        #expect(Target("http://example.com?x=1")?.path == "/?x=1")
        #expect(Target("http://[fe80::1]/")?.hostHeader == "[fe80::1]")
        for url in [
            "https://example.com/", "http://user:pw@example.com/", "http://::1/", "http://a:b:80/", "http://h:+80/",
            "http://h:/",
            "http://h:0/", "http://h:65536/", "http:///path", "http://h/pa th", "http://[::1/", "http://[::1]x/",
            "ftp://h/",
        ] {
            #expect(Target(url) == nil, "\(url)")
        }
    }

    @Test func onlyHeadersThatCannotBreakTheMessageGoThroughTheBuiltInClient() {
        #expect(PlainHTTPConnection.accepts([("X-Tenant", "acme"), ("X-Tab", "a\tb"), ("X-Utf8", "café")]))
        for header in [
            ("Host", "x"), ("content-length", "1"), ("Transfer-Encoding", "chunked"), ("Connection", "close"),
            ("Bad Name", "v"),
            ("X(", "v"), ("", "v"), ("X", "a\r\nInjected: 1"), ("X", "a\u{7F}"), ("X", "nul\u{0}"),
        ] {
            #expect(!PlainHTTPConnection.accepts([header]), "\(header)")
        }
    }

    @Test func anEventIDThatCannotBeAHeaderValueIsNotUsedAsTheWebhookID() async throws {
        let events = try await replayEvents([
            NewEvent(
                account: "a", source: "o2vend", type: "t", entity: "e1", refs: [], id: "ev-1", payload: Array("{}".utf8)
            ),
            NewEvent(
                account: "a", source: "o2vend", type: "t", entity: "e2", refs: [], id: "ev\r\nX-Injected: 1",
                payload: Array("{}".utf8)),
        ])
        let builder = RequestBuilder(
            configuration: ReplayConfiguration(url: "http://h/", filter: .init()), archiveID: "arch")
        #expect(builder.webhookID([events[0]]) == "ev-1")
        #expect(builder.webhookID([events[1]]) == "hl_arch_2")
    }

    @Test func payloadsShareTheirBlockOnlyWhenMostOfItIsQueued() async throws {
        let payload = Array(repeating: UInt8(ascii: "x"), count: 300)
        let all = try await replayEvents(
            (0..<400).map { i in
                NewEvent(
                    account: "a", source: "s", type: "t", entity: "e\(i)", refs: [], id: "id\(i)",
                    payload: Array("{\"n\":\(i),\"p\":\"".utf8) + payload + Array("\"}".utf8))
            })
        #expect(all.allSatisfy { $0.blockBytes > 4 * $0.payload.count }, "several events a block")

        var dense = all
        Replayer.unpinSparseBlocks(&dense)
        #expect(
            zip(dense, all).allSatisfy { $0.payload == $1.payload && $0.blockBytes == $1.blockBytes },
            "every event queued: shared")

        var sparse = all.enumerated().filter { $0.offset % 40 == 0 }.map(\.element)
        let before = sparse.map(\.payload)
        Replayer.unpinSparseBlocks(&sparse)
        #expect(sparse.map(\.payload) == before, "the same bytes")
        #expect(
            zip(sparse, all.enumerated().filter { $0.offset % 40 == 0 }.map(\.element)).allSatisfy {
                $0.blockBytes < $1.blockBytes / 4
            },
            "one event in 40 queued: copied, holding no more than the bytes of the queued events of its block")
    }

    /// The events appended to a new archive, read back as replay reads them.
    func replayEvents(_ events: [NewEvent]) async throws -> [ReplayEvent] {
        let dir = NSTemporaryDirectory() + "hooklog-replay-parts-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ArchiveStore.open(directory: dir)
        _ = try await store.append(events)
        store.close()
        var out: [ReplayEvent] = []
        try ArchiveReader(directory: dir).snapshot().forEachView(matching: .init()) { view in
            out.append(ReplayEvent(view, envelope: false))
            return true
        }
        return out
    }
}
