// Writes the seed corpora of the fuzz targets (run.sh calls it; the output is gitignored):
//
//   fuzz-seed OUTPUT [FIXTURES]
//
// - OUTPUT/json/: every request body of FIXTURES (default the repository's `Tests/Fixtures`, the example
//   deliveries: good and bad), plus a few hand-written edge cases of the JSON grammar.
// - OUTPUT/parse/: inputs of fuzz-parse for each of its parsers (a selector byte, three Int64s, the text):
//   the fixtures' signature headers, times, durations, sizes, query strings and JSON pointers, and the
//   values that trapped before (a timestamp of Int64.min, `999999999999d`, `99999999999999g`).
// - OUTPUT/segment/: real archives built with the store API from the events of those bodies, with tiny
//   segments and blocks so that sealed segments with `.idx` files, checkpoint indexes, multi-frame blocks,
//   IDs, refs and body digests all occur; each seed is files of a `log/` directory concatenated in the
//   form fuzz-segment reads (a `.log`, then its `.idx`, then the next `.log`...).
import Foundation
import HooklogStore

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: fuzz-seed OUTPUT [FIXTURES]\n".utf8))
    exit(2)
}
let output = arguments[1]
/// `Tests/Fixtures` of the repository this file is in (fuzz/Sources/fuzz-seed/main.swift), so the seeds never
/// depend on anything outside it.
let repositoryFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Tests/Fixtures").path
let fixtures = arguments.count >= 3 ? arguments[2] : repositoryFixtures
let fm = FileManager.default

func write(_ bytes: [UInt8], _ path: String) {
    guard fm.createFile(atPath: path, contents: Data(bytes)) else { fatalError("cannot write \(path)") }
}

// MARK: JSON seeds

let jsonDirectory = output + "/json"
try? fm.removeItem(atPath: jsonDirectory)
try fm.createDirectory(atPath: jsonDirectory, withIntermediateDirectories: true)
var bodies: [(name: String, bytes: [UInt8])] = []
for folder in ["orderspace", "o2vend", "generic", "bad"] {
    let names = (try? fm.contentsOfDirectory(atPath: fixtures + "/" + folder)) ?? []
    for name in names.sorted() where name.hasSuffix(".json") || name.hasSuffix(".txt") && folder == "bad" {
        guard let data = fm.contents(atPath: fixtures + "/" + folder + "/" + name) else { continue }
        bodies.append((folder + "-" + name, Array(data)))
    }
}
guard !bodies.isEmpty else { fatalError("no fixtures under \(fixtures)") }
for (name, bytes) in bodies { write(bytes, jsonDirectory + "/" + name) }
let edges = [
    "1e400", "-0.0e-0", #""\ud83d\ude00 \u00e9 \/ \b\f\n\r\t""#, #""\ud800""#, #"{"a":1,"a":{"b~/":[true,false,null]}}"#,
    #"[{"event":"x","data":{"order":{"id":1,"order_lines":[{"sku":"A"},{"sku":2}]}}}]"#,
    #"{"Event":"E","Id":"i","Data":{"Id":null,"OrderId":3,"Lines":[{"Sku":"S"}]}}"#,
    #"{"events":[{"Event":"t","Data":{"a/b":{"~c":"r"},"Lines":[{"Sku":"k"}]},"refs":["x",1]}]}"#,
    String(repeating: "[", count: 127) + String(repeating: "]", count: 127),
]
for (n, text) in edges.enumerated() { write(Array(text.utf8), jsonDirectory + "/edge-\(n).json") }

// MARK: fuzz-parse seeds

let parseDirectory = output + "/parse"
try? fm.removeItem(atPath: parseDirectory)
try fm.createDirectory(atPath: parseDirectory, withIntermediateDirectories: true)
/// A fuzz-parse input: the selector, A (a clock), B (a tolerance), C (a timestamp), then the text.
func parseSeed(_ selector: UInt8, _ a: Int64, _ b: Int64, _ c: Int64, _ text: [UInt8]) -> [UInt8] {
    var out = [selector]
    for v in [a, b, c] { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
    return out + text
}
/// `NAME: value` lines of a fixture's `.headers` file (notes skipped).
func headerValue(_ file: String, _ name: String) -> String {
    let text = String(decoding: fm.contents(atPath: fixtures + "/" + file) ?? Data(), as: UTF8.self)
    for line in text.split(separator: "\n") where line.lowercased().hasPrefix(name.lowercased() + ":") {
        return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
    }
    return ""
}
let fixtureTime: Int64 = 1_760_947_200
let stripeBody = Array(fm.contents(atPath: fixtures + "/generic/stripe-style.json") ?? Data())
let swBody = Array(fm.contents(atPath: fixtures + "/generic/standard-webhooks.json") ?? Data())
let parseSeeds: [[UInt8]] = [
    // 0: Stripe-Signature (the text is the header checked, and the body of the signed round trip).
    parseSeed(0, fixtureTime, 300, fixtureTime, Array(headerValue("generic/stripe-style.headers", "Stripe-Signature").utf8)),
    parseSeed(0, fixtureTime, 300, .min, Array("t=-9223372036854775808,v1=00".utf8)),
    parseSeed(0, .max, .max, .min, Array("t=9223372036854775807, v1=00ff, v0=zz,t=1".utf8)),
    // 1: Standard Webhooks: id, timestamp, signatures, body.
    parseSeed(
        1, fixtureTime, 300, fixtureTime,
        Array(
            ("whsec_aG9va2xvZy1maXh0dXJlLXNlY3JldC0zMi1ieXRlcyE=\n" + headerValue("generic/standard-webhooks.headers", "webhook-timestamp") + "\n"
                + headerValue("generic/standard-webhooks.headers", "webhook-signature") + "\n").utf8) + swBody),
    parseSeed(1, fixtureTime, 300, .min, Array("msg_1\n-9223372036854775808\nv1,AAAA v1,=\n{}".utf8)),
    // 2: HMAC headers and --verify arguments.
    parseSeed(2, 0, 0, 0, Array("sha256=00ff".utf8)),
    parseSeed(2, 0, 0, 7, Array("hmac-sha256-base64:X-Orderspace-Signature".utf8)),
    parseSeed(2, 0, 0, 0, Array("dGVzdA".utf8)),
    // 3: times and durations.
    parseSeed(3, fixtureTime * 1_000_000, 0, 0, Array("999999999999d".utf8)),
    parseSeed(3, .min, 0, .max, Array("36500d".utf8)),
    parseSeed(3, 0, 0, 0, Array("2026-10-02T10:14:05.123456+01:00".utf8)),
    parseSeed(3, 0, 0, 0, Array("0000-01-01t00:00:60.9999999999z".utf8)),
    parseSeed(3, 0, 0, 0, Array("2w".utf8)),
    // 4: sizes.
    parseSeed(4, 0, 0, 0, Array("99999999999999g".utf8)),
    parseSeed(4, 0, 0, 0, Array("4M".utf8)),
    parseSeed(4, 0, 0, 0, Array("1048576b".utf8)),
    // 5: GET /v1/events query strings.
    parseSeed(5, fixtureTime * 1_000_000, 0, 0, Array("since=999999999999d&limit=5".utf8)),
    parseSeed(5, 0, 0, 0, Array("account=shop&type=order.*&entity=or_1&ref=MUG%20STW&since=2026-10-02T09:14:05Z&until=2h&contains=%22paid%22&limit=10&reverse=true".utf8)),
    parseSeed(5, 0, 0, 0, Array("%zz=%&&=limit&limit=-1".utf8)),
    // 6: generic-source locations (type, entity, id, events, refs... separated by tabs), then the body.
    parseSeed(6, 0, 0, 0, Array("/type\t/data/object/id\t/id\t\t/data/object/customer\n".utf8) + stripeBody),
    parseSeed(6, 0, 0, 0, Array("/type\t/data/object/id\t\t\t/data/object/customer\n".utf8) + swBody),
    parseSeed(6, 1, 0, 0, Array("/Event\t/Data/Lines/0/Sku\theader:x-id\t/events\t/Data/a~1b/~0c\t/refs\theader:x-ref\n".utf8)
        + Array(#"{"events":[{"Event":"t","Data":{"a/b":{"~c":"r"},"Lines":[{"Sku":"k"}]},"refs":["x",1]},{"Event":"u","Data":{}}]}"#.utf8)),
    parseSeed(6, 0, 0, 0, Array("header:x-type\t\t\t\n[{},{},{}]".utf8)),
]
for (n, seed) in parseSeeds.enumerated() { write(seed, parseDirectory + "/seed-\(n)") }

// MARK: Events from the fixtures

/// Each event of a good body: its bytes (re-serialized: seeds need not be byte-exact), type, entity, refs, id.
func events(of bytes: [UInt8], source: String) -> [NewEvent] {
    guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) else { return [] }
    let list = (object as? [Any]) ?? [object]
    return list.compactMap { item in
        guard let event = item as? [String: Any], let payload = try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])
        else { return nil }
        let type = (event["event"] ?? event["Event"] ?? event["type"]) as? String ?? "unknown"
        let data = (event["data"] ?? event["Data"]) as? [String: Any]
        let object = (data?.values.first as? [String: Any]) ?? data ?? [:]
        func text(_ v: Any?) -> String? { v.map { "\($0)" } }
        let entity = text(object["id"] ?? object["Id"] ?? object["sku"])
        let refs = ["customer_id", "CustomerId", "order_id", "OrderId", "Sku", "customer"].compactMap { text(object[$0]) }
        let id = text(event["Id"] ?? event["id"])
        return NewEvent(account: "acme", source: source, type: type, entity: entity, refs: refs, id: id, payload: Array(payload))
    }
}

let all: [NewEvent] = bodies.filter { !$0.name.hasPrefix("bad-") }.flatMap { body in
    events(of: body.bytes, source: String(body.name.prefix { $0 != "-" }))
}
guard !all.isEmpty else { fatalError("no events in the fixtures") }

// MARK: Segment seeds

let segmentDirectory = output + "/segment"
try? fm.removeItem(atPath: segmentDirectory)
try fm.createDirectory(atPath: segmentDirectory, withIntermediateDirectories: true)
let scratch = NSTemporaryDirectory() + "hooklog-fuzz-seed-\(getpid())"
defer { try? fm.removeItem(atPath: scratch) }

/// Builds an archive, closes it, and writes seeds from its `log/` files.
@MainActor
func archive(_ name: String, segmentSize: Int, blockSize: Int, recompress: Bool, batches: [[NewEvent]], digests: Bool) async throws {
    try? fm.removeItem(atPath: scratch)
    var options = StoreOptions()
    options.segmentSize = segmentSize
    options.blockSize = blockSize
    options.recompressSealed = recompress
    options.recompressionBacklog = .max
    options.finishesRecompressionOnClose = true
    options.durable = false
    let store = try ArchiveStore.open(directory: scratch, options: options)
    for (n, batch) in batches.enumerated() {
        let digest: [UInt8]? = digests && batch.allSatisfy { $0.id == nil } ? (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n) } : nil
        _ = try await store.append(AppendRequest(events: batch, bodyDigest: digest))
    }
    store.close()
    let log = scratch + "/log"
    let names = try fm.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".log") }.sorted()
    var whole: [UInt8] = []
    for logName in names {
        let stem = String(logName.dropLast(4))
        let segment = Array(fm.contents(atPath: log + "/" + logName) ?? Data())
        let index = fm.contents(atPath: log + "/" + stem + ".idx").map(Array.init) ?? []
        whole += segment + index
        write(segment, segmentDirectory + "/\(name)-\(stem)-log")
        if !index.isEmpty { write(segment + index, segmentDirectory + "/\(name)-\(stem)-log-idx") }
    }
    write(whole, segmentDirectory + "/\(name)-all")
}

/// `count` events of `all` (every sources' among them), cut into requests of 1 to 3 events.
@MainActor
func batches(_ count: Int, ids: Bool) -> [[NewEvent]] {
    var out: [[NewEvent]] = []
    var k = 0
    while k < count {
        let size = min(1 + k % 3, count - k)
        out.append((k..<(k + size)).map { n in
            var e = all[(n * 13) % all.count]
            e.id = ids ? (e.id ?? "ev") + "-\(n)" : nil
            return e
        })
        k += size
    }
    return out
}

// Small archives: libFuzzer mutates small inputs faster, and each input is read a dozen times over.
try await archive("tiny", segmentSize: 64 << 20, blockSize: 64 << 10, recompress: false, batches: [[all[0]]], digests: false)
try await archive("small", segmentSize: 1200, blockSize: 600, recompress: false, batches: batches(12, ids: true), digests: false)
try await archive("digests", segmentSize: 2 << 10, blockSize: 1 << 10, recompress: false, batches: batches(10, ids: false), digests: true)
try await archive("recompressed", segmentSize: 1500, blockSize: 800, recompress: true, batches: batches(12, ids: true), digests: false)
try await archive("one-segment", segmentSize: 64 << 20, blockSize: 700, recompress: false, batches: batches(16, ids: true), digests: true)

let parseCount = (try fm.contentsOfDirectory(atPath: parseDirectory)).count
let jsonCount = (try fm.contentsOfDirectory(atPath: jsonDirectory)).count
let segmentCount = (try fm.contentsOfDirectory(atPath: segmentDirectory)).count
print(
    "fuzz-seed: \(jsonCount) JSON seeds in \(jsonDirectory), \(parseCount) parse seeds in \(parseDirectory), \(segmentCount) segment seeds in \(segmentDirectory)")
