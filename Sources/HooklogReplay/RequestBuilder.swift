import HooklogSigning

/// Turns events into a request body and its headers, shaped and signed as configured.
struct RequestBuilder: Sendable {
    let configuration: ReplayConfiguration
    /// The archive's identity, for Standard Webhooks IDs of events without one.
    let archiveID: String
    /// The headers every request carries: the defaults a `--header` of the same name (any case) does not
    /// replace, then the `--header`s, in their order.
    let fixedHeaders: [(String, String)]
    /// The secret, and its bytes as the HMAC key of `orderspace` and `hmac-sha256`.
    let secret: String
    let key: [UInt8]

    init(configuration: ReplayConfiguration, archiveID: String) {
        self.configuration = configuration
        self.archiveID = archiveID
        let defaults = [("Content-Type", "application/json")]
        let given = Set(configuration.headers.map { $0.0.lowercased() })
        fixedHeaders = defaults.filter { !given.contains($0.0.lowercased()) } + configuration.headers
        secret = configuration.secret ?? ""
        key = Array(secret.utf8)
    }

    struct Built: Sendable {
        var body: [UInt8]
        var headers: [(String, String)]
    }

    func build(_ events: [ReplayEvent], nowSeconds: Int64) -> Built {
        var body: [UInt8] = []
        switch configuration.shape {
        case .orderspace:
            // The original bytes, unchanged, between the list's brackets.
            body.reserveCapacity(events.reduce(2) { $0 + $1.payload.count + 1 })
            body.append(UInt8(ascii: "["))
            for (i, e) in events.enumerated() {
                if i > 0 { body.append(UInt8(ascii: ",")) }
                body.append(contentsOf: e.payload)
            }
            body.append(UInt8(ascii: "]"))
        case .o2vend:
            body = Array(events[0].payload)
        case .envelope:
            body = events[0].envelope ?? []
        }
        var headers = fixedHeaders
        switch configuration.signing {
        case .none:
            break
        case .orderspace:
            headers.append(("X-Orderspace-Signature", Encoding.base64(HMACSHA256.mac(key: key, body))))
        case .hmacSHA256:
            headers.append((configuration.signHeader, "sha256=" + Encoding.hex(HMACSHA256.mac(key: key, body))))
        case .standardWebhooks:
            let id = webhookID(events)
            headers.append(("webhook-id", id))
            headers.append(("webhook-timestamp", String(nowSeconds)))
            headers.append(
                ("webhook-signature", StandardWebhooks.sign(secret: secret, id: id, timestamp: nowSeconds, body: body)))
        }
        return Built(body: body, headers: headers)
    }

    /// The event's own ID; else (or for a batch) an ID made from the archive and the `seq`s, the same on
    /// every run, so a consumer can recognise a resent request.
    /// An event ID that could not go in a header as it is (a control character, from a sender's JSON
    /// escapes) is not used: it would end the header line early on the wire.
    func webhookID(_ events: [ReplayEvent]) -> String {
        if events.count == 1, let id = events[0].id, !id.isEmpty, id.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) {
            return id
        }
        let first = events[0].seq
        return events.count == 1 ? "hl_\(archiveID)_\(first)" : "hl_\(archiveID)_\(first)_\(events.count)"
    }
}
