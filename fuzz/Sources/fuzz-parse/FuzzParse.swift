// libFuzzer target: every parser of outside text that is not JSON or an archive file, one per selector.
//
// Input: a selector byte (taken modulo the number of parsers), three little-endian Int64s (A, B, C: a
// clock, a tolerance, a timestamp; missing bytes are zeros), then the text. For every input it checks, and
// aborts (a crash libFuzzer records) when one fails:
//
//  0. Stripe-Signature: `StripeSignature.verify` of the text as the header never traps, whatever the clock
//     and tolerance; a header `sign` made for timestamp C verifies at clock A with tolerance B exactly when
//     |A - C| <= B, computed in 128 bits (the oracle), and not with another secret.
//  1. Standard Webhooks: the text's lines as `webhook-id`, `webhook-timestamp`, `webhook-signature` and the
//     body never trap; a signature `sign` made for (first line, C, the body) verifies exactly as the oracle
//     says, with the first line as the secret as given (`whsec_` base64 or not).
//  2. HMAC headers (hex with or without `sha256=`, base64: Orderspace's): verifying the text as the header
//     never traps; the right MAC in each form verifies, and a MAC with a flipped bit does not.
//     `WebhookSignature(argument:)` of the text never traps and a parsed scheme round-trips.
//  3. Times and durations: `RFC3339.parse(text, now: A)` and `parseDuration` never trap; a duration is
//     what a 128-bit computation says, inside 0...maxDurationMicros, and `parse` of it is A minus it (nil
//     when that leaves Int64); `format(C)` parses back to C for every time in years 0000-9999.
//  4. Sizes: `ByteSize.parse` never traps and agrees with a 128-bit computation.
//  5. The `GET /v1/events` query string: `EventsEndpoint.parse(query:now: A)` never traps, and refuses only
//     with a 400.
//  6. Generic sources: the first line holds locations separated by tabs (type, entity, id, events, refs...),
//     the rest is the body. `validate`, `JSONTape.pointer` of each location and `extract` never trap; a
//     refusal is a 400; accepted events have a type, payloads that are the body's bytes, and IDs taken
//     from a header are distinct within a delivery of several events (none is dropped as a redelivery).
import CLibFuzzer
import Foundation
import HooklogIngest
import HooklogSigning
import HooklogStore

/// The entry point: libFuzzer's driver with its usual flags (see CLibFuzzer.h for why not its `main`).
@main
enum FuzzParse {
    static func main() {
        var argc = CommandLine.argc
        var argv = Optional(CommandLine.unsafeArgv)
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data ?? UnsafePointer(bitPattern: 1)!, size) })
    }
}

/// The parsers, in selector order.
private let parsers: [(name: String, run: @Sendable (Input) -> Void)] = [
    ("stripe", stripe), ("standard-webhooks", standardWebhooks), ("hmac", hmac), ("time", time), ("size", size),
    ("events-query", eventsQuery), ("generic", generic),
]

/// One input, cut up.
struct Input {
    var bytes: [UInt8]
    var a: Int64, b: Int64, c: Int64
    var text: String
    var rest: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        func int64(at offset: Int) -> Int64 {
            var v: UInt64 = 0
            for i in 0..<8 where offset + i < bytes.count { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
            return Int64(bitPattern: v)
        }
        a = int64(at: 1)
        b = int64(at: 9)
        c = int64(at: 17)
        rest = bytes.count > 25 ? Array(bytes[25...]) : []
        text = String(decoding: rest, as: UTF8.self)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let selector = bytes.first else { return 0 }
    parsers[Int(selector) % parsers.count].run(Input(bytes))
    return 0
}

private func fail(_ message: String, _ input: Input) -> Never {
    let text = String(decoding: input.bytes.prefix(2000), as: UTF8.self)
    fatalError("fuzz-parse: \(message)\nA=\(input.a) B=\(input.b) C=\(input.c)\ninput (\(input.bytes.count) bytes): \(text.debugDescription)")
}

/// Whether `timestamp` is within `tolerance` of `now`, in 128 bits: the rule the schemes must follow.
private func fresh(now: Int64, timestamp: Int64, tolerance: Int64) -> Bool {
    tolerance >= 0 && (Int128(now) - Int128(timestamp)).magnitude <= UInt128(tolerance)
}

// MARK: Signatures

private func stripe(_ input: Input) {
    let secret = "whsec_stripe_fuzz"
    _ = StripeSignature.verify(secret: secret, header: input.text, body: input.rest, nowSeconds: input.a, tolerance: input.b)
    let header = StripeSignature.sign(secret: secret, timestamp: input.c, body: input.rest)
    let verified = StripeSignature.verify(secret: secret, header: header, body: input.rest, nowSeconds: input.a, tolerance: input.b)
    if verified != fresh(now: input.a, timestamp: input.c, tolerance: input.b) {
        fail("stripe: a signed header verified \(verified) against the oracle", input)
    }
    if StripeSignature.verify(secret: secret + "x", header: header, body: input.rest, nowSeconds: input.c, tolerance: 0) {
        fail("stripe: verified with another secret", input)
    }
    let scheme = WebhookSignature.stripe
    _ = scheme.verify(secret: secret, body: input.rest, header: { _ in input.text }, nowSeconds: input.a, tolerance: input.b)
}

private func standardWebhooks(_ input: Input) {
    let lines = input.text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
    func line(_ i: Int) -> String { i < lines.count ? lines[i] : "" }
    let body = Array(line(3).utf8)
    _ = StandardWebhooks.verify(
        secret: line(0), id: line(0), timestamp: line(1), signatures: line(2), body: body, nowSeconds: input.a,
        tolerance: input.b)
    let signature = StandardWebhooks.sign(secret: line(0), id: line(1), timestamp: input.c, body: body)
    let verified = StandardWebhooks.verify(
        secret: line(0), id: line(1), timestamp: String(input.c), signatures: "v0,xx " + signature, body: body,
        nowSeconds: input.a, tolerance: input.b)
    if verified != fresh(now: input.a, timestamp: input.c, tolerance: input.b) {
        fail("standard-webhooks: a signed delivery verified \(verified) against the oracle", input)
    }
    let headers = ["webhook-id": line(0), "webhook-timestamp": line(1), "webhook-signature": line(2)]
    _ = WebhookSignature.standardWebhooks.verify(
        secret: line(0), body: body, header: { headers[$0] }, nowSeconds: input.a, tolerance: input.b)
}

private func hmac(_ input: Input) {
    let key = "os_signing_key_fuzz"
    for scheme in [WebhookSignature.hmacHex(header: "X-Sig"), .hmacBase64(header: "X-Sig"), .orderspace] {
        _ = scheme.verify(secret: key, body: input.rest, header: { _ in input.text }, nowSeconds: input.a, tolerance: input.b)
    }
    let mac = HMACSHA256.mac(key: Array(key.utf8), input.rest)
    var wrong = mac
    wrong[Int(UInt8(truncatingIfNeeded: input.c) & 31)] ^= 1 << (UInt8(truncatingIfNeeded: input.c >> 8) & 7)
    let forms: [(WebhookSignature, ([UInt8]) -> String)] = [
        (.hmacHex(header: "X-Sig"), { Encoding.hex($0) }), (.hmacHex(header: "X-Sig"), { "sha256=" + Encoding.hex($0) }),
        (.hmacBase64(header: "X-Sig"), { Encoding.base64($0) }), (.orderspace, { " " + Encoding.base64($0) + "\t" }),
    ]
    for (scheme, encode) in forms {
        let good = encode(mac)
        let bad = encode(wrong)
        if !scheme.verify(secret: key, body: input.rest, header: { _ in good }, nowSeconds: input.a, tolerance: input.b) {
            fail("hmac: the right MAC (\(good)) is refused by \(scheme.argument)", input)
        }
        if scheme.verify(secret: key, body: input.rest, header: { _ in bad }, nowSeconds: input.a, tolerance: input.b) {
            fail("hmac: a wrong MAC (\(bad)) is accepted by \(scheme.argument)", input)
        }
    }
    _ = Encoding.unhex(input.text)
    _ = Encoding.unbase64(input.text)
    if let scheme = WebhookSignature(argument: input.text), WebhookSignature(argument: scheme.argument) != scheme {
        fail("hmac: --verify '\(input.text)' does not round-trip through its argument", input)
    }
}

// MARK: Times, durations, sizes

/// `n` followed by one unit, with `Int64(_:)`'s idea of a number: the duration's oracle.
private func oracleDuration(_ text: String) -> Int128? {
    guard let unit = text.last, let n = Int64(text.dropLast()), n >= 0 else { return nil }
    let scale: Int128
    switch unit {
    case "s": scale = 1
    case "m": scale = 60
    case "h": scale = 3600
    case "d": scale = 86_400
    case "w": scale = 604_800
    default: return nil
    }
    let micros = Int128(n) * scale * 1_000_000
    return micros <= Int128(RFC3339.maxDurationMicros) ? micros : nil
}

private func time(_ input: Input) {
    let duration = RFC3339.parseDuration(input.text)
    let expected = oracleDuration(input.text)
    if duration.map({ Int128($0) }) != expected {
        fail("time: parseDuration says \(String(describing: duration)), the oracle \(String(describing: expected))", input)
    }
    let parsed = RFC3339.parse(input.text, now: input.a)
    if let expected {
        let back = Int128(input.a) - expected
        let fits = back >= Int128(Int64.min)
        if parsed.map({ Int128($0) }) != (fits ? back : nil) {
            fail("time: parse of a duration at now=\(input.a) says \(String(describing: parsed))", input)
        }
    }
    // Years 0000-9999: format and parse are inverse.
    let first: Int64 = -62_167_219_200_000_000
    let last: Int64 = 253_402_300_799_999_999
    let micros = first + Int64(truncatingIfNeeded: UInt64(bitPattern: input.c) % UInt64(last - first + 1))
    let text = RFC3339.format(micros: micros)
    if RFC3339.parse(text, now: input.a) != micros { fail("time: \(text) does not parse back to \(micros)", input) }
}

private func size(_ input: Input) {
    let parsed = ByteSize.parse(input.text)
    let lower = input.text.lowercased()
    var expected: Int128?
    switch lower.last {
    case "k", "m", "g":
        let shift = lower.last == "k" ? 10 : lower.last == "m" ? 20 : 30
        if let n = Int(lower.dropLast()) {
            let bytes = Int128(n) << shift
            expected = bytes <= Int128(Int.max) && bytes >= Int128(Int.min) ? bytes : nil
        }
    default:
        expected = Int(lower.hasSuffix("b") ? String(lower.dropLast()) : lower).map { Int128($0) }
    }
    if parsed.map({ Int128($0) }) != expected {
        fail("size: ByteSize.parse says \(String(describing: parsed)), the oracle \(String(describing: expected))", input)
    }
}

// MARK: HTTP

private func eventsQuery(_ input: Input) {
    do {
        let query = try EventsEndpoint.parse(query: input.text, now: input.a)
        if let limit = query.limit, limit < 0 { fail("events-query: a negative limit \(limit) passed", input) }
    } catch {
        if error.status != 400 { fail("events-query: refused with \(error.status): \(error.message)", input) }
    }
}

private func generic(_ input: Input) {
    let parts = input.text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let locations = parts[0].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    let body = parts.count > 1 ? Array(parts[1].utf8) : []
    func location(_ i: Int) -> String? { i < locations.count ? locations[i] : nil }
    let verify: WebhookSignature = input.a & 1 == 0 ? .standardWebhooks : .none
    let source = GenericSource(
        name: "fuzz", typeAt: location(0) ?? "/type", entityAt: location(1) ?? "", idAt: location(2).flatMap { $0.isEmpty ? nil : $0 },
        refsAt: Array(locations.dropFirst(4)), eventsAt: location(3).flatMap { $0.isEmpty ? nil : $0 }, verify: verify)
    do {
        try source.validate()
    } catch {
        if error.status != 400 { fail("generic: validate refused with \(error.status)", input) }
    }
    if let tape = try? JSONTape(parsing: body) {
        for p in locations { _ = tape.pointer(p) }
    }
    let headers = ["webhook-id": "msg_fuzz", "x-id": "delivery-1", "x-type": "t"]
    let events: [ExtractedEvent]
    do {
        events = try source.extract(body: body, headers: headers)
    } catch {
        if error.status != 400 { fail("generic: extract refused with \(error.status): \(error.message)", input) }
        return
    }
    if events.isEmpty { fail("generic: a delivery accepted with no event", input) }
    for e in events {
        if e.type.isEmpty { fail("generic: an event without a type", input) }
        if e.payload.startIndex < 0 || e.payload.endIndex > body.count { fail("generic: a payload outside the body", input) }
    }
    let idLocation = source.idAt ?? (verify == .standardWebhooks ? "header:webhook-id" : nil)
    if events.count > 1, let idLocation, idLocation.hasPrefix("header:") {
        let ids = events.compactMap(\.id)
        if Set(ids).count != ids.count { fail("generic: events of one delivery share a header ID: \(ids)", input) }
    }
}
