import Foundation
import HooklogStore
import Testing

@testable import HooklogReplay

@Suite struct RequestBuilderTests {
    func headers(_ given: [(String, String)], signing: ReplayConfiguration.Signing = .none) async throws -> [(String, String)] {
        let archive = try await TestArchive(count: 1)
        defer { archive.remove() }
        var configuration = ReplayConfiguration(url: "http://h/", filter: .init())
        configuration.headers = given
        configuration.signing = signing
        configuration.secret = "s"
        return RequestBuilder(configuration: configuration, archiveID: "x").build(try archive.events(), nowSeconds: 1).headers
    }

    @Test func aGivenHeaderReplacesTheDefaultOfTheSameNameInAnyCase() async throws {
        #expect(try await headers([]).map(\.0) == ["Content-Type"])
        for name in ["Content-Type", "content-type", "CONTENT-TYPE"] {
            let h = try await headers([(name, "application/cloudevents+json"), ("X-Tenant", "acme")])
            #expect(h.filter { $0.0.lowercased() == "content-type" }.map(\.1) == ["application/cloudevents+json"], "\(name)")
            #expect(h.contains { $0 == ("X-Tenant", "acme") })
        }
        let signed = try await headers([("content-type", "text/plain")], signing: .orderspace)
        #expect(signed.map { $0.0.lowercased() } == ["content-type", "x-orderspace-signature"])
    }
}

@Suite struct ReplayConfigurationTests {
    func problem(secret: String?, signing: ReplayConfiguration.Signing, headers: [(String, String)] = [], signHeader: String? = nil) -> String? {
        var c = ReplayConfiguration(url: "http://h/", filter: .init())
        c.secret = secret
        c.signing = signing
        c.headers = headers
        if let signHeader { c.signHeader = signHeader }
        return c.problem
    }

    @Test func aWhsecSecretMustBeBase64() {
        let good = "whsec_" + Data("0123456789abcdef0123456789abcdef".utf8).base64EncodedString()
        #expect(problem(secret: good, signing: .standardWebhooks) == nil)
        #expect(problem(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", signing: .standardWebhooks) == nil, "unpadded")
        for bad in ["whsec_not base64!", "whsec_", "whsec_====", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS*"] {
            let message = problem(secret: bad, signing: .standardWebhooks)
            #expect(message?.contains("whsec_") == true, "\(bad)")
        }
        // Other schemes use a secret's text as the key, whatever it looks like.
        #expect(problem(secret: "whsec_not base64!", signing: .orderspace) == nil)
        #expect(problem(secret: "plain-secret", signing: .standardWebhooks) == nil)
    }

    @Test func aHeaderThatTheSignatureWritesIsAUsageError() {
        #expect(problem(secret: "s", signing: .orderspace, headers: [("x-orderspace-signature", "v")]) != nil)
        #expect(problem(secret: "s", signing: .hmacSHA256, headers: [("X-Sig", "v")], signHeader: "x-sig") != nil)
        #expect(problem(secret: "s", signing: .standardWebhooks, headers: [("Webhook-Timestamp", "1")]) != nil)
        #expect(problem(secret: nil, signing: .none, headers: [("webhook-id", "mine")]) == nil)
    }

    @Test func theFingerprintHoldsTheTimeFlagsAsWritten() {
        var a = ReplayConfiguration(url: "http://h/", filter: EventFilter(since: 100))
        a.sinceText = "30d"
        var b = a
        b.filter.since = 999
        #expect(a.fingerprint == b.fingerprint, "30d resolved at another time: the same replay")
        b.sinceText = "7d"
        #expect(a.fingerprint != b.fingerprint)
        let c = ReplayConfiguration(url: "http://h/", filter: EventFilter(since: 100))
        let d = ReplayConfiguration(url: "http://h/", filter: EventFilter(since: 101))
        #expect(c.fingerprint != d.fingerprint, "without the text, the resolved time stands for itself")
    }
}

@Suite struct DeadLetterReaderTests {
    @Test func seqsMustBePositiveIntegersAndAreReadWithoutATrap() throws {
        let path = NSTemporaryDirectory() + "hooklog-dead-\(UUID().uuidString).ndjson"
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data("{\"seq\":3}\n{\"seq\":1}\n\n{\"seq\":3}\n".utf8))
        #expect(try DeadLetterReader.seqs(path) == [1, 3])
        for bad in [
            "{\"seq\":18446744073709551615}", "{\"seq\":1e30}", "{\"seq\":-1}", "{\"seq\":0}", "{\"seq\":1.5}", "{\"seq\":\"4\"}", "[1]",
            "{\"seq\":9223372036854775808}", "not json",
        ] {
            _ = FileManager.default.createFile(atPath: path, contents: Data((bad + "\n").utf8))
            #expect(throws: ReplayError.self, "\(bad)") { try DeadLetterReader.seqs(path) }
        }
        _ = FileManager.default.createFile(atPath: path, contents: Data("{\"seq\":9223372036854775807}\n".utf8))
        #expect(try DeadLetterReader.seqs(path) == [UInt64(Int64.max)], "the largest seq: seq + 1 must not overflow either")
    }
}

extension ReplayConfigurationTests {
    @Test func base64IsItsAlphabetThenAtMostTwoPaddingCharacters() {
        for good in ["QQ==", "QUI=", "QUJD", "QQ", "QUI", "a+/9"] { #expect(ReplayConfiguration.isBase64(Array(good.utf8)), "\(good)") }
        for bad in ["", "====", "Q", "QUJDR", "Q===", "QQ=", "QQ==QQ==", "QU I=", "QUI-", "QUI_", "QQ=x"] {
            #expect(!ReplayConfiguration.isBase64(Array(bad.utf8)), "\(bad)")
        }
    }
}
