import Foundation
import HTTPTypes
import HooklogSigning
import HooklogStore
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import HooklogIngest

/// A store, accounts and the router over them, in a fresh directory.
final class ServerHarness: @unchecked Sendable {
    let directory: String
    let store: ArchiveStore
    let ingestor: Ingestor
    /// Tokens by account name.
    var tokens: [String: String] = [:]
    let adminToken: String

    init(
        maxBody: Int = 4 << 20, now: Int64? = nil,
        configure: (inout AccountBook, inout [String: String]) throws -> Void = { _, _ in }
    ) throws {
        directory = NSTemporaryDirectory() + "hooklog-server-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var tokens: [String: String] = [:]
        try AccountFile(directory: directory).update { (book: inout AccountBook) throws(IngestConfigError) in
            do { try configure(&book, &tokens) } catch { throw IngestConfigError("\(error)") }
        }
        self.tokens = tokens
        adminToken = try AdminToken.ensure(directory: directory).token
        var options = StoreOptions()
        options.durable = false
        store = try ArchiveStore.open(directory: directory, options: options)
        var settings = IngestSettings()
        settings.maxBodyBytes = maxBody
        let clock: @Sendable () -> Int64 = { now ?? RFC3339.nowMicros() / 1_000_000 }
        ingestor = Ingestor(
            store: store, accounts: AccountDirectory(directory: directory, logger: Logger(label: "test")),
            settings: settings,
            logger: Logger(label: "test"), clock: clock)
    }

    /// Adds an account to `book`, remembering its token.
    static func add(
        _ name: String, source: String, to book: inout AccountBook, tokens: inout [String: String],
        signingKey: String? = nil,
        secret: String? = nil, secretHeader: String? = nil, headers: [(String, String)] = []
    ) {
        let token = Token.generate()
        tokens[name] = token
        book.accounts.append(
            Account(
                name: name, source: source, tokenHash: Token.hash(token), signingKey: signingKey,
                secretHash: secret.map(Token.hash),
                secretHeader: secretHeader, headers: headers.map { Account.RequiredHeader(name: $0.0, value: $0.1) },
                created: "2026-11-23T00:00:00Z"))
    }

    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(
            router: IngestServer.router(ingestor: ingestor, metricsText: { "hooklog_test_metric 1\n" }))
        try await app.test(.router, body)
    }

    func events() throws -> [StoredEvent] { try store.reader().snapshot().events() }

    deinit {
        store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct Reply {
    var status: Int
    var body: String
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
}

extension TestClientProtocol {
    func post(_ uri: String, _ body: [UInt8], headers: [String: String] = [:]) async throws -> Reply {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        for (k, v) in headers { fields[HTTPField.Name(k)!] = v }
        return try await execute(uri: uri, method: .post, headers: fields, body: ByteBuffer(bytes: body)) { r in
            Reply(status: Int(r.status.code), body: String(buffer: r.body))
        }
    }

    func get(_ uri: String, headers: [String: String] = [:]) async throws -> Reply {
        var fields = HTTPFields()
        for (k, v) in headers { fields[HTTPField.Name(k)!] = v }
        return try await execute(uri: uri, method: .get, headers: fields) { r in
            Reply(status: Int(r.status.code), body: String(buffer: r.body))
        }
    }
}

@Suite struct ServerTests {
    /// The answer is written digit by digit: every number must come out as its decimal text.
    @Test func receiptJSONWritesEveryNumberInFull() throws {
        let seqs: [UInt64] = [0, 9, 10, 99, 100, 1_234_567_890, UInt64.max]
        let receipt = IngestReceipt(events: 7, stored: 10, duplicates: 0, seqs: seqs)
        #expect(
            receipt.json
                == "{\"events\":7,\"stored\":10,\"duplicates\":0,\"seqs\":[\(seqs.map(String.init).joined(separator: ","))]}"
        )
        #expect(
            IngestReceipt(events: 0, stored: 0, duplicates: 0, seqs: []).json
                == #"{"events":0,"stored":0,"duplicates":0,"seqs":[]}"#)
    }

    static let o2vendHeaders = ["X-O2VEND-Secret": "o2-test-secret-7f3a", "X-Api-Key": "shop-42"]
    static let signingKey = "os_signing_key_Qm9vR2x5YnVpbGQ4dGVzdA"

    /// The fixture accounts: Orderspace with its signing key, O2VEND with its secret and custom header,
    /// and the two generic sources their `# source:` lines describe, with the secrets their files give.
    static func fixtureHarness(maxBody: Int = 4 << 20) throws -> ServerHarness {
        try ServerHarness(maxBody: maxBody, now: 1_760_947_200) { book, tokens in
            ServerHarness.add("shop", source: "orderspace", to: &book, tokens: &tokens, signingKey: signingKey)
            ServerHarness.add("open-shop", source: "orderspace", to: &book, tokens: &tokens)
            ServerHarness.add(
                "o2", source: "o2vend", to: &book, tokens: &tokens, secret: "o2-test-secret-7f3a",
                secretHeader: "X-O2VEND-Secret",
                headers: [("X-Api-Key", "shop-42")])
            try addGenericFixtureSources(&book, &tokens)
        }
    }

    /// The two generic sources the fixtures' `# source:` lines describe, and an account for each with
    /// the secret its file gives (`sw`, `st`).
    static func addGenericFixtureSources(_ book: inout AccountBook, _ tokens: inout [String: String]) throws {
        var sw = try Fixtures.source("standard-webhooks", headersFile: "generic/standard-webhooks.headers")
        sw.verify = .standardWebhooks
        sw.idAt = nil
        var stripe = try Fixtures.source("stripe-style", headersFile: "generic/stripe-style.headers")
        stripe.verify = .stripe
        book.sources = [sw, stripe]
        ServerHarness.add(
            "sw", source: "standard-webhooks", to: &book, tokens: &tokens,
            signingKey: "whsec_aG9va2xvZy1maXh0dXJlLXNlY3JldC0zMi1ieXRlcyE=")
        ServerHarness.add(
            "st", source: "stripe-style", to: &book, tokens: &tokens, signingKey: "whsec_stripe_fixture_4c1d")
    }

    static func signature(_ body: [UInt8]) -> String {
        Encoding.base64(HMACSHA256.mac(key: Array(signingKey.utf8), body))
    }

    /// The route, token and headers a good fixture is delivered with.
    static func delivery(_ name: String, _ h: ServerHarness) throws -> (String, [String: String]) {
        if name.hasPrefix("orderspace/") {
            return (
                "/v1/orderspace/\(h.tokens["shop"]!)", ["X-Orderspace-Signature": signature(try Fixtures.bytes(name))]
            )
        }
        if name.hasPrefix("o2vend/") { return ("/v1/o2vend/\(h.tokens["o2"]!)", o2vendHeaders) }
        let stem = String(name.dropLast(5))
        let source = String(stem.split(separator: "/").last!)
        let account = source == "stripe-style" ? "st" : "sw"
        let headers = try Fixtures.headers(stem + ".headers")
        return ("/v1/hooks/\(source)/\(h.tokens[account]!)", headers)
    }

    @Test("every good fixture through its route is stored with the fields expected.ndjson gives")
    func everyFixture() async throws {
        let h = try Self.fixtureHarness()
        let expected = try Fixtures.expected()
        let names = Array(Set(expected.map(\.fixture))).sorted()
        try await h.test { client in
            for name in names {
                let (uri, headers) = try Self.delivery(name, h)
                let reply = try await client.post(uri, try Fixtures.bytes(name), headers: headers)
                #expect(reply.status == 200, "\(name): \(reply.body)")
            }
        }
        let stored = try h.events()
        // The O2VEND redelivery fixture repeats order-create's Id: acknowledged, not stored again.
        let redeliveries = expected.filter { $0.fixture == "o2vend/order-create-redelivery.json" }.count
        #expect(stored.count == expected.count - redeliveries)
        for e in expected where e.fixture != "o2vend/order-create-redelivery.json" {
            let candidates = stored.filter { $0.type == e.type && $0.entity == e.entity && $0.id == e.id }
            #expect(!candidates.isEmpty, "\(e.fixture)#\(e.index) \(e.type) not stored")
            #expect(candidates.contains { s in e.refs.allSatisfy(s.refs.contains) }, "\(e.fixture)#\(e.index) refs")
        }
        // Payloads byte for byte, account and source as routed.
        let batch = try OrderspaceSource.extract(body: try Fixtures.bytes("orderspace/batch-mixed.json"))
        let fromBatch = stored.filter { $0.account == "shop" }.prefix(batch.count)
        #expect(fromBatch.map(\.payload) == batch.map { Array($0.payload) })
        #expect(Set(stored.map(\.source)) == ["orderspace", "o2vend", "standard-webhooks", "stripe-style"])
    }

    @Test("an Orderspace retry of the same bytes is acknowledged and not stored twice; O2VEND redelivery by Id")
    func redeliveries() async throws {
        let h = try Self.fixtureHarness()
        let body = try Fixtures.bytes("orderspace/batch-mixed.json")
        let o2 = try Fixtures.bytes("o2vend/order-create.json")
        let o2again = try Fixtures.bytes("o2vend/order-create-redelivery.json")
        try await h.test { client in
            let headers = ["X-Orderspace-Signature": Self.signature(body)]
            let first = try await client.post("/v1/orderspace/\(h.tokens["shop"]!)", body, headers: headers)
            let second = try await client.post("/v1/orderspace/\(h.tokens["shop"]!)", body, headers: headers)
            #expect(first.status == 200 && second.status == 200)
            #expect(first.json["stored"] as? Int == 10 && first.json["duplicates"] as? Int == 0)
            #expect(second.json["stored"] as? Int == 0 && second.json["duplicates"] as? Int == 10)
            #expect(first.json["seqs"] as? [Int] == second.json["seqs"] as? [Int])
            // The same bytes from another account are that account's own events.
            let other = try await client.post("/v1/orderspace/\(h.tokens["open-shop"]!)", body)
            #expect(other.json["stored"] as? Int == 10)
            let a = try await client.post("/v1/o2vend/\(h.tokens["o2"]!)", o2, headers: Self.o2vendHeaders)
            let b = try await client.post("/v1/o2vend/\(h.tokens["o2"]!)", o2again, headers: Self.o2vendHeaders)
            #expect(a.json["stored"] as? Int == 1)
            #expect(b.status == 200 && b.json["duplicates"] as? Int == 1)
        }
        #expect(try h.events().count == 21)
    }

    @Test("credentials: unknown tokens, wrong routes, bad signatures, secrets and headers get a bare 401")
    func credentials() async throws {
        let h = try Self.fixtureHarness()
        let body = try Fixtures.bytes("orderspace/batch-mixed.json")
        let o2 = try Fixtures.bytes("o2vend/product-create.json")
        let sw = try Fixtures.bytes("generic/standard-webhooks.json")
        let swHeaders = try Fixtures.headers("generic/standard-webhooks.headers")
        try await h.test { client in
            var replies: [Reply] = []
            replies.append(try await client.post("/v1/orderspace/hl_nope", body))
            replies.append(try await client.post("/v1/orderspace/\(h.tokens["shop"]!)", body))  // no signature
            replies.append(
                try await client.post(
                    "/v1/orderspace/\(h.tokens["shop"]!)", body,
                    headers: ["X-Orderspace-Signature": Self.signature(body + [0x20])]))
            // The wrong route.
            replies.append(try await client.post("/v1/o2vend/\(h.tokens["shop"]!)", o2, headers: Self.o2vendHeaders))
            replies.append(
                try await client.post("/v1/o2vend/\(h.tokens["o2"]!)", o2, headers: ["X-Api-Key": "shop-42"]))
            replies.append(
                try await client.post(
                    "/v1/o2vend/\(h.tokens["o2"]!)", o2,
                    headers: ["X-O2VEND-Secret": "o2-test-secret-7f3a", "X-Api-Key": "shop-43"]))
            replies.append(
                try await client.post(
                    "/v1/o2vend/\(h.tokens["o2"]!)", o2,
                    headers: ["X-O2VEND-Secret": "o2-test-secret-7f3b", "X-Api-Key": "shop-42"]))
            var tampered = swHeaders
            tampered["webhook-id"] = "msg_other"
            replies.append(
                try await client.post("/v1/hooks/standard-webhooks/\(h.tokens["sw"]!)", sw, headers: tampered))
            replies.append(try await client.post("/v1/hooks/stripe-style/\(h.tokens["sw"]!)", sw, headers: swHeaders))
            for (i, r) in replies.enumerated() {
                #expect(r.status == 401, "case \(i): \(r.status) \(r.body)")
                #expect(r.json["error"] as? String == "unauthorized", "case \(i)")
            }
            // An unsigned delivery to an account with no signing key is fine.
            #expect(try await client.post("/v1/orderspace/\(h.tokens["open-shop"]!)", body).status == 200)
        }
        #expect(try h.events().count == 10)
    }

    @Test("Standard Webhooks and Stripe timestamps outside the tolerance are refused")
    func staleTimestamps() async throws {
        let late = try ServerHarness(now: 1_760_947_200 + 301) { book, tokens in
            try Self.addGenericFixtureSources(&book, &tokens)
        }
        try await late.test { client in
            let sw = try await client.post(
                "/v1/hooks/standard-webhooks/\(late.tokens["sw"]!)",
                try Fixtures.bytes("generic/standard-webhooks.json"),
                headers: try Fixtures.headers("generic/standard-webhooks.headers"))
            let st = try await client.post(
                "/v1/hooks/stripe-style/\(late.tokens["st"]!)", try Fixtures.bytes("generic/stripe-style.json"),
                headers: try Fixtures.headers("generic/stripe-style.headers"))
            #expect(sw.status == 401 && st.status == 401)
        }
        #expect(try late.events().isEmpty)
    }

    @Test("every bad fixture, a batch of 51 and a body over the limit are refused whole with a JSON error")
    func badInput() async throws {
        let h = try Self.fixtureHarness()
        let bad = try FileManager.default.contentsOfDirectory(atPath: Fixtures.root.appendingPathComponent("bad").path)
            .sorted()
        #expect(bad.count >= 7)
        try await h.test { client in
            for name in bad {
                let body = try Fixtures.bytes("bad/" + name)
                let route =
                    name.hasPrefix("o2vend")
                    ? "/v1/o2vend/\(h.tokens["o2"]!)" : "/v1/orderspace/\(h.tokens["open-shop"]!)"
                let reply = try await client.post(
                    route, body, headers: name.hasPrefix("o2vend") ? Self.o2vendHeaders : [:])
                #expect(reply.status == 400, "\(name): \(reply.status) \(reply.body)")
                #expect((reply.json["error"] as? String)?.isEmpty == false, "\(name)")
            }
            let unknownSource = try await client.post("/v1/hooks/nope/\(h.tokens["sw"]!)", Array("{}".utf8))
            #expect(unknownSource.status == 401)
        }
        #expect(try h.events().isEmpty)
    }

    @Test("a body over --max-body gets a 413, by its Content-Length or as it arrives")
    func bodyLimit() async throws {
        let h = try Self.fixtureHarness(maxBody: 4096)
        let body = try Fixtures.bytes("orderspace/bulk-stock-50.json")
        #expect(body.count > 4096)
        try await h.test { client in
            let reply = try await client.post("/v1/orderspace/\(h.tokens["open-shop"]!)", body)
            #expect(reply.status == 413)
            #expect((reply.json["error"] as? String)?.contains("4096") == true)
            let small = try await client.post(
                "/v1/orderspace/\(h.tokens["open-shop"]!)", try Fixtures.bytes("orderspace/single-object.json"))
            #expect(small.status == 200)
        }
        #expect(try h.events().count == 1)
    }

    @Test("a store that cannot write answers 503 with Retry-After, so the sender retries")
    func storeFailureIs503() async throws {
        let h = try Self.fixtureHarness()
        h.store.close()
        try await h.test { client in
            let reply = try await client.post(
                "/v1/orderspace/\(h.tokens["open-shop"]!)", try Fixtures.bytes("orderspace/single-object.json"))
            #expect(reply.status == 503)
            #expect((reply.json["error"] as? String)?.contains("retry") == true)
        }
    }

    @Test("healthz, metrics, and GET /v1/events behind the admin token")
    func operations() async throws {
        let h = try Self.fixtureHarness()
        let body = try Fixtures.bytes("orderspace/batch-mixed.json")
        try await h.test { client in
            #expect(try await client.get("/healthz").body.contains("\"ok\""))
            #expect(try await client.get("/metrics").body.contains("hooklog_test_metric"))
            _ = try await client.post("/v1/orderspace/\(h.tokens["open-shop"]!)", body)
            #expect(try await client.get("/v1/events").status == 401)
            #expect(
                try await client.get("/v1/events", headers: ["Authorization": "Bearer \(h.tokens["shop"]!)"]).status
                    == 401)
            let auth = ["Authorization": "Bearer \(h.adminToken)"]
            let all = try await client.get("/v1/events?account=open-shop", headers: auth)
            #expect(all.status == 200)
            let lines = all.body.split(separator: "\n")
            #expect(lines.count == 10)
            let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
            #expect(
                Set(first.keys) == [
                    "seq", "received_at", "account", "source", "type", "entity", "refs", "id", "payload",
                ])
            let order = try await client.get("/v1/events?ref=or_k7m2q9xa&type=order.*&limit=1", headers: auth)
            #expect(order.body.split(separator: "\n").count == 1)
            #expect(order.body.contains("\"type\":\"order.created\""))
            let newest = try await client.get("/v1/events?reverse=true&limit=2", headers: auth)
            let seqs = newest.body.split(separator: "\n").map {
                (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["seq"] as! Int
            }
            #expect(seqs == [10, 9])
            #expect(try await client.get("/v1/events?since=yesterday", headers: auth).status == 400)
        }
    }

    @Test("account changes reach a running server at once: a rotated token is refused, a new account works")
    func liveAccountChanges() async throws {
        let h = try Self.fixtureHarness()
        let body = try Fixtures.bytes("orderspace/single-object.json")
        let old = h.tokens["open-shop"]!
        try await h.test { client in
            #expect(try await client.post("/v1/orderspace/\(old)", body).status == 200)
            let fresh = Token.generate()
            try AccountFile(directory: h.directory).update { (book: inout AccountBook) throws(IngestConfigError) in
                let i = book.accounts.firstIndex { $0.name == "open-shop" }!
                book.accounts[i].tokenHash = Token.hash(fresh)
            }
            #expect(try await client.post("/v1/orderspace/\(old)", body).status == 401)
            #expect(try await client.post("/v1/orderspace/\(fresh)", body).status == 200)
        }
    }
}
