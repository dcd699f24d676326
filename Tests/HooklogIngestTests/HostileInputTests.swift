import Foundation
import HooklogSigning
import HooklogStore
import Testing

@testable import HooklogIngest

#if canImport(Glibc)
import Glibc
#endif

/// Requests built to reach a trap or to lose events, through the real router.
@Suite struct HostileInputTests {
    static let now: Int64 = 1_760_947_200

    /// `now - t` trapped for the smallest `Int64`: one request from anyone holding the URL token stopped the
    /// server. Each extreme timestamp is a plain 401 now, and the server goes on answering.
    @Test func extremeSignatureTimestampsAre401() async throws {
        let h = try ServerTests.fixtureHarness()
        let stripeBody = try Fixtures.bytes("generic/stripe-style.json")
        let swBody = try Fixtures.bytes("generic/standard-webhooks.json")
        let swFixtureHeaders = try Fixtures.headers("generic/standard-webhooks.headers")
        try await h.test { client in
            var swHeaders = swFixtureHeaders
            for t in ["-9223372036854775808", "9223372036854775807", "-1"] {
                let st = try await client.post(
                    "/v1/hooks/stripe-style/\(h.tokens["st"]!)", stripeBody,
                    headers: ["Stripe-Signature": "t=\(t),v1=00"])
                #expect(st.status == 401)
                swHeaders["webhook-timestamp"] = t
                let sw = try await client.post(
                    "/v1/hooks/standard-webhooks/\(h.tokens["sw"]!)", swBody, headers: swHeaders)
                #expect(sw.status == 401)
            }
            // Still serving: the fixture delivery with its real headers is stored.
            let good = try await client.post(
                "/v1/hooks/stripe-style/\(h.tokens["st"]!)", stripeBody,
                headers: try Fixtures.headers("generic/stripe-style.headers"))
            #expect(good.status == 200)
        }
    }

    /// `since=999999999999d` multiplied past `Int64` and stopped the server; now a 400 that says why.
    @Test func overlongDurationsInTheQueryStringAre400() async throws {
        let h = try ServerTests.fixtureHarness()
        try await h.test { client in
            let auth = ["Authorization": "Bearer \(h.adminToken)"]
            for query in [
                "since=999999999999d", "until=9223372036854775807s", "since=36501d", "limit=-1",
                "limit=99999999999999999999",
            ] {
                let reply = try await client.get("/v1/events?\(query)", headers: auth)
                #expect(reply.status == 400, "\(query)")
                #expect((reply.json["error"] as? String)?.isEmpty == false, "\(query)")
            }
            #expect(try await client.get("/v1/events?since=36500d&limit=1", headers: auth).status == 200)
            #expect(try await client.get("/healthz").status == 200)
        }
    }

    @Test func eventsQueryStrings() throws {
        let now: Int64 = 1_760_947_200_000_000
        let q = try EventsEndpoint.parse(query: "ref=or%201&since=2h&limit=5&reverse=1&type=order.*", now: now)
        #expect(q.filter.ref == "or 1" && q.filter.since == now - 7_200_000_000 && q.limit == 5 && q.reverse)
        for bad in ["since=999999999999d", "since=x", "until=-1s", "limit=x", "limit=-5"] {
            #expect(throws: IngestError.self, "\(bad)") { try EventsEndpoint.parse(query: bad, now: now) }
        }
        // Malformed percent-encoding, repeated and empty names: parsed or refused, never a trap.
        for odd in ["%", "%zz=1", "=&&=", "since=%FF%FE", "limit=1&limit=2", String(repeating: "a=1&", count: 1000)] {
            _ = try? EventsEndpoint.parse(query: odd, now: now)
        }
    }

    /// A Standard Webhooks delivery whose body holds several events (`--events-at`) names the delivery in
    /// `webhook-id`: each event gets that ID with its position, so none is taken for a redelivery of the
    /// first; the same delivery sent again is recognised event by event.
    @Test func standardWebhooksBatchStoresEveryEvent() async throws {
        let secret = "whsec_aG9va2xvZy1maXh0dXJlLXNlY3JldC0zMi1ieXRlcyE="
        let h = try ServerHarness(now: Self.now) { book, tokens in
            book.sources = [
                GenericSource(
                    name: "batched", typeAt: "/type", entityAt: "/data/id", eventsAt: "/events",
                    verify: .standardWebhooks),
                GenericSource(name: "plain", typeAt: "/type", entityAt: "/data/id", verify: .standardWebhooks),
            ]
            ServerHarness.add("b", source: "batched", to: &book, tokens: &tokens, signingKey: secret)
            ServerHarness.add("p", source: "plain", to: &book, tokens: &tokens, signingKey: secret)
        }
        @Sendable func headers(_ id: String, _ body: [UInt8]) -> [String: String] {
            [
                "webhook-id": id, "webhook-timestamp": String(Self.now),
                "webhook-signature": StandardWebhooks.sign(secret: secret, id: id, timestamp: Self.now, body: body),
            ]
        }
        let batch = Array(
            #"{"events":[{"type":"a.created","data":{"id":"1"}},{"type":"a.updated","data":{"id":"1"}},{"type":"b.created","data":{"id":"2"}}]}"#
                .utf8)
        let single = Array(#"{"type":"c.created","data":{"id":"3"}}"#.utf8)
        try await h.test { client in
            let first = try await client.post(
                "/v1/hooks/batched/\(h.tokens["b"]!)", batch, headers: headers("msg_batch", batch))
            #expect(first.status == 200)
            #expect(first.json["stored"] as? Int == 3 && first.json["duplicates"] as? Int == 0)
            let again = try await client.post(
                "/v1/hooks/batched/\(h.tokens["b"]!)", batch, headers: headers("msg_batch", batch))
            #expect(again.json["stored"] as? Int == 0 && again.json["duplicates"] as? Int == 3)
            let one = try await client.post(
                "/v1/hooks/plain/\(h.tokens["p"]!)", single, headers: headers("msg_one", single))
            #expect(one.json["stored"] as? Int == 1)
        }
        let events = try h.events()
        #expect(events.map(\.type) == ["a.created", "a.updated", "b.created", "c.created"])
        #expect(events.map(\.id) == ["msg_batch#0", "msg_batch#1", "msg_batch#2", "msg_one"])
    }

    /// The accounts file, its lock, the admin token and the data directory they create are the owner's only.
    @Test func accountFilesArePrivate() throws {
        let parent = NSTemporaryDirectory() + "hooklog-modes-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let directory = parent + "/data"
        let saved = umask(0o022)
        defer { umask(saved) }
        try AccountFile(directory: directory).update { (book: inout AccountBook) throws(IngestConfigError) in
            book.accounts.append(
                Account(name: "a", source: "orderspace", tokenHash: "x", signingKey: "secret", created: "now"))
        }
        _ = try AdminToken.ensure(directory: directory)
        try ServeAddress.record("http://127.0.0.1:1", directory: directory)
        func mode(_ path: String) -> mode_t {
            var st = stat()
            #expect(stat(path, &st) == 0, "\(path)")
            return st.st_mode & 0o777
        }
        #expect(mode(directory) == 0o700)
        #expect(mode(directory + "/accounts.json") == 0o600)
        #expect(mode(directory + "/accounts.lock") == 0o600)
        #expect(mode(AdminToken.path(directory: directory)) == 0o600)
        #expect(mode(ServeAddress.path(directory: directory)) == 0o600)
        // Rotating the admin token in a directory made by someone else keeps its file private too.
        let other = parent + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        _ = try AdminToken.ensure(directory: other, rotate: true)
        #expect(mode(AdminToken.path(directory: other)) == 0o600)
    }

    @Test func wildcardHostsAreNotPrintedAsURLs() {
        #expect(ServeAddress.baseURL(host: "127.0.0.1", port: 9000) == ("http://127.0.0.1:9000", false))
        #expect(ServeAddress.baseURL(host: "::1", port: 9000) == ("http://[::1]:9000", false))
        let any = ServeAddress.baseURL(host: "0.0.0.0", port: 9000)
        #expect(any.wildcard && !any.url.contains("0.0.0.0") && any.url.hasSuffix(":9000"))
        #expect(ServeAddress.baseURL(host: "::", port: 1).wildcard)
    }
}
