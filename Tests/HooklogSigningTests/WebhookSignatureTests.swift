import Testing

@testable import HooklogSigning

@Suite struct HMACSHA256Tests {
    /// RFC 4231 §4, test cases 1-4, 6 and 7 (case 5 is a truncated MAC, which no scheme here uses).
    @Test(
        arguments: [
            (
                [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            (
                Array(1...25), [UInt8](repeating: 0xcd, count: 50),
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131),
                Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131),
                Array(
                    "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                        .utf8),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ] as [([UInt8], [UInt8], String)])
    func rfc4231(key: [UInt8], data: [UInt8], mac: String) {
        #expect(Encoding.hex(HMACSHA256.mac(key: key, data)) == mac)
        // The same MAC over the data in two parts.
        let half = data.count / 2
        #expect(Encoding.hex(HMACSHA256.mac(key: key, Array(data[..<half]), Array(data[half...]))) == mac)
        // Through the header check, for the keys that are text (the secrets of accounts are).
        if let text = String(validating: key, as: UTF8.self) {
            let scheme = WebhookSignature.hmacHex(header: "X-Sig")
            #expect(
                scheme.verify(secret: text, body: data, header: { _ in "sha256=" + mac }, nowSeconds: 0, tolerance: 0))
            #expect(!scheme.verify(secret: text, body: data + [0], header: { _ in mac }, nowSeconds: 0, tolerance: 0))
        }
    }
}

@Suite struct StandardWebhooksTests {
    /// The example of the Standard Webhooks specification and its reference libraries.
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let timestamp: Int64 = 1_614_265_330
    static let body = Array(#"{"test": 2432232314}"#.utf8)
    static let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    @Test func publishedExample() {
        #expect(
            StandardWebhooks.sign(secret: Self.secret, id: Self.id, timestamp: Self.timestamp, body: Self.body)
                == Self.signature)
        #expect(
            StandardWebhooks.verify(
                secret: Self.secret, id: Self.id, timestamp: "1614265330", signatures: "v1,bm90LWl0 " + Self.signature,
                body: Self.body,
                nowSeconds: Self.timestamp + 300, tolerance: 300))
        #expect(
            !StandardWebhooks.verify(
                secret: Self.secret, id: Self.id, timestamp: "1614265330", signatures: Self.signature, body: Self.body,
                nowSeconds: Self.timestamp + 301, tolerance: 300))
        #expect(
            !StandardWebhooks.verify(
                secret: Self.secret, id: "msg_other", timestamp: "1614265330", signatures: Self.signature,
                body: Self.body,
                nowSeconds: Self.timestamp, tolerance: 300))
    }

    /// `now - timestamp` trapped for a timestamp far from now: a sender holding only the URL token could
    /// stop the server with one header.
    @Test(arguments: ["-9223372036854775808", "9223372036854775807", "-1", "0"])
    func extremeTimestampsAreRefusedNotTrapped(_ timestamp: String) {
        for now in [Int64.min, -1, 0, 1_760_947_200, Int64.max] {
            let ok = StandardWebhooks.verify(
                secret: Self.secret, id: Self.id, timestamp: timestamp, signatures: Self.signature, body: Self.body,
                nowSeconds: now,
                tolerance: 300)
            #expect(!ok)
        }
        let headers = ["webhook-id": Self.id, "webhook-timestamp": timestamp, "webhook-signature": Self.signature]
        #expect(
            !WebhookSignature.standardWebhooks.verify(
                secret: Self.secret, body: Self.body, header: { headers[$0] }, nowSeconds: 1_760_947_200,
                tolerance: .max))
    }
}

@Suite struct StripeSignatureTests {
    /// The repository's Stripe-style fixture (`Tests/Fixtures/generic/stripe-style.*`): its MAC was
    /// computed independently (Python's `hmac`) as Stripe documents it, HMAC-SHA256(secret, "t.body") in hex.
    @Test func fixture() {
        let body = Array(
            #"{"id": "evt_1PqR2sT3uV", "type": "charge.refunded", "data": {"object": {"id": "ch_3Ab4Cd5Ef", "customer": "cus_9Zx8Yw"}}}"#
                .utf8)
        let header = "t=1760947200,v1=91d393368b25440f0e2c782a01b467286f92c2f8a5dca3deaa3695067084e91e"
        let secret = "whsec_stripe_fixture_4c1d"
        // The fixture file may end in a newline; the header was computed over the file's exact bytes.
        let verified = [body, body + [0x0A]].contains {
            StripeSignature.verify(secret: secret, header: header, body: $0, nowSeconds: 1_760_947_200, tolerance: 300)
        }
        #expect(verified)
        #expect(
            StripeSignature.sign(
                secret: "whsec_test_secret", timestamp: 1_700_000_000, body: Array(#"{"id":"evt_1"}"#.utf8))
                == "t=1700000000,v1=248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a")
        // Several v1 entries (a rolled secret), spaces after commas, a v0 entry: any matching v1 passes.
        let signed = StripeSignature.sign(secret: secret, timestamp: 1_760_947_200, body: body)
        let v1 = signed.split(separator: ",")[1]
        #expect(
            StripeSignature.verify(
                secret: secret, header: "t=1760947200, v1=00ff, v0=abc, \(v1)", body: body, nowSeconds: 1_760_947_200,
                tolerance: 0))
    }

    /// `now - t` trapped for `t=-9223372036854775808`: one request from anyone with the URL killed the server.
    @Test(arguments: [
        "t=-9223372036854775808,v1=00", "t=9223372036854775807,v1=00", "t=-9223372036854775808", "t=,v1=00",
    ])
    func extremeTimestampsAreRefusedNotTrapped(_ header: String) {
        for now in [Int64.min, -1, 0, 1_760_947_200, Int64.max] {
            for tolerance in [Int64.min, -1, 0, 300, Int64.max] {
                #expect(
                    !StripeSignature.verify(
                        secret: "whsec_x", header: header, body: [], nowSeconds: now, tolerance: tolerance))
            }
        }
        #expect(
            !WebhookSignature.stripe.verify(
                secret: "whsec_x", body: [], header: { _ in header }, nowSeconds: 1_760_947_200, tolerance: 300))
    }

    /// A header signed for the extreme timestamps verifies exactly when the 128-bit distance is within
    /// the tolerance.
    @Test func freshnessAtTheBounds() {
        #expect(Freshness.holds(timestamp: .min, now: .min, tolerance: 0))
        #expect(Freshness.holds(timestamp: .max, now: .max, tolerance: 0))
        #expect(!Freshness.holds(timestamp: .min, now: .max, tolerance: .max))
        #expect(!Freshness.holds(timestamp: .min, now: 0, tolerance: .max))
        #expect(Freshness.holds(timestamp: .min + 1, now: 0, tolerance: .max))
        #expect(Freshness.holds(timestamp: -5, now: 5, tolerance: 10))
        #expect(!Freshness.holds(timestamp: -5, now: 5, tolerance: 9))
        #expect(!Freshness.holds(timestamp: 5, now: 5, tolerance: -1))
        let body = Array("{}".utf8)
        let header = StripeSignature.sign(secret: "k", timestamp: .min, body: body)
        #expect(StripeSignature.verify(secret: "k", header: header, body: body, nowSeconds: .min + 10, tolerance: 10))
        #expect(!StripeSignature.verify(secret: "k", header: header, body: body, nowSeconds: .min + 11, tolerance: 10))
    }
}

@Suite struct EncodingTests {
    @Test func hexAndBase64() {
        #expect(Encoding.unhex("00ffAB") == [0, 255, 171])
        #expect(Encoding.unhex("0") == nil && Encoding.unhex("zz") == nil && Encoding.unhex("") == [])
        #expect(
            Encoding.unbase64("AAEC") == [0, 1, 2] && Encoding.unbase64("AAE") == [0, 1]
                && Encoding.unbase64("*") == nil)
        #expect(WebhookSignature(argument: "hmac-sha256-hex:X-Sig") == .hmacHex(header: "X-Sig"))
        #expect(WebhookSignature(argument: "hmac-sha256-hex:") == nil && WebhookSignature(argument: "hmac:") == nil)
    }
}
