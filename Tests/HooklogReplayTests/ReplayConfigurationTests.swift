import Foundation
import HooklogStore
import Testing

@testable import HooklogReplay

@Suite struct ReplayConfigurationTests {
    func problem(
        secret: String?, signing: ReplayConfiguration.Signing, headers: [(String, String)] = [],
        signHeader: String? = nil
    ) -> String? {
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
        #expect(
            problem(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", signing: .standardWebhooks) == nil, "unpadded")
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

extension ReplayConfigurationTests {
    @Test func base64IsItsAlphabetThenAtMostTwoPaddingCharacters() {
        for good in ["QQ==", "QUI=", "QUJD", "QQ", "QUI", "a+/9"] {
            #expect(ReplayConfiguration.isBase64(Array(good.utf8)), "\(good)")
        }
        for bad in ["", "====", "Q", "QUJDR", "Q===", "QQ=", "QQ==QQ==", "QU I=", "QUI-", "QUI_", "QQ=x"] {
            #expect(!ReplayConfiguration.isBase64(Array(bad.utf8)), "\(bad)")
        }
    }
}
