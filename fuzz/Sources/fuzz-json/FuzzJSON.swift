// libFuzzer target: the JSON tape (`JSONTape`) and the three extractors that read deliveries through it.
//
// For every input it checks, and aborts (a crash libFuzzer records) when one fails:
//  1. Nothing traps: parsing, navigating every value of the tape, decoding every string, following JSON
//     pointers, and the Orderspace, O2VEND and generic extractors.
//  2. Differential with Foundation: a document the tape accepts, `JSONSerialization` (.fragmentsAllowed)
//     accepts too (the rule of JSONTapeTests.mutatedFixturesNeverCrashAndAgreeWithFoundation), except for
//     the two documented limits of Foundation below; and where both accept, every string (keys included)
//     decodes to the same text, arrays have the same length and objects the same keys.
//  3. The tape is well formed: every value lies inside its parent, children in document order, a
//     number's ID text is its bytes, a pointer built from a key path leads back to a member with that key.
//  4. Extraction: any refusal is a 400 (and a body the tape refuses is always refused); every extracted
//     event's payload is exactly the bytes of its event value in the body (`body[range]`), a JSON object
//     that parses on its own; its type is non-empty; Orderspace batches hold 1...50 events.
//  5. Export's byte-level JSON writers (`JSONText`, HooklogStore): `appendMinified` (the SSE2/SSSE3
//     kernel in CJSONMinify) never reads or writes out of bounds and equals `appendMinifiedReference`,
//     whatever the bytes; on JSON its output parses to the same tape shape; `appendString` of any decoded
//     string parses back to that string.
//
// Foundation limits (not defects of the tape; RFC 8259 allows both documents, and hooklog stores them):
//  - a number whose magnitude overflows a Double (`1e400`): Foundation says "not representable in Swift";
//  - a `\uD800`–`\uDFFF` escape that is not part of a high+low surrogate pair: Foundation refuses it,
//    RFC 8259 §8.2 says the behaviour is unpredictable; the tape accepts it and decodes it as U+FFFD.
import CLibFuzzer
import Foundation
import HooklogIngest
import HooklogStore

private let generic: [(GenericSource, [String: String])] = [
    // generic/standard-webhooks.json and generic/stripe-style.json, as their `# source:` lines say.
    (
        GenericSource(
            name: "standard", typeAt: "/type", entityAt: "/data/object/id", refsAt: ["/data/object/customer"],
            verify: .standardWebhooks),
        ["webhook-id": "msg_fuzz"]
    ),
    (
        GenericSource(name: "stripe", typeAt: "/type", entityAt: "/data/object/id", idAt: "/id", refsAt: ["/data/object/customer"]),
        [:]
    ),
    // Arrays of events inside the body, pointers with escapes and indexes, header locations.
    (
        GenericSource(
            name: "nested", typeAt: "/Event", entityAt: "/Data/Lines/0/Sku", idAt: "header:x-id",
            refsAt: ["/Data/a~1b/~0c", "/refs", "header:x-ref"], eventsAt: "/events"),
        ["x-id": "id-1", "x-ref": "r-1"]
    ),
    (GenericSource(name: "root", typeAt: "/event", entityAt: "", idAt: "/0", refsAt: ["/data/order/order_lines"]), [:]),
]

/// The entry point: libFuzzer's driver with its usual flags (see CLibFuzzer.h for why not its `main`).
@main
enum FuzzJSON {
    static func main() {
        var argc = CommandLine.argc
        var argv = Optional(CommandLine.unsafeArgv)
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data ?? UnsafePointer(bitPattern: 1)!, size) })
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    let tape = try? JSONTape(parsing: body)
    var minified: [UInt8] = []
    JSONText.appendMinified(body, 0..<body.count, to: &minified)
    var reference: [UInt8] = []
    JSONText.appendMinifiedReference(body, 0..<body.count, to: &reference)
    if minified != reference { fail("appendMinified differs from appendMinifiedReference", body) }
    if let tape {
        walk(tape, tape.root, path: "", parent: nil)
        differential(tape, body)
        exportWriters(tape, minified)
    }

    check("orderspace", body, tape, { () throws(IngestError) in try OrderspaceSource.extract(body: body) }) { tape in
        let events = tape.kind(tape.root) == .array ? tape.elements(tape.root) : [tape.root]
        return (events, OrderspaceSource.maxBatch)
    }
    check("o2vend", body, tape, { () throws(IngestError) in try O2VendSource.extract(body: body) }) { tape in
        (tape.kind(tape.root) == .array ? tape.elements(tape.root) : [tape.root], nil)
    }
    for (source, headers) in generic {
        check(source.name, body, tape, { () throws(IngestError) in try source.extract(body: body, headers: headers) }) {
            tape in
            if let at = source.eventsAt {
                return (tape.pointer(at).map(tape.elements) ?? [], nil)
            }
            return (tape.kind(tape.root) == .array ? tape.elements(tape.root) : [tape.root], nil)
        }
    }
    return 0
}

private func fail(_ message: String, _ body: [UInt8]) -> Never {
    let text = String(decoding: body.prefix(2000), as: UTF8.self)
    fatalError("fuzz-json: \(message)\ninput (\(body.count) bytes): \(text.debugDescription)")
}

// MARK: Extraction

/// Runs one extractor: a refusal must be a 400, a tape refusal must refuse, and an acceptance must hand
/// back exactly the events `events(tape)` names, each payload the exact bytes of its value.
private func check(
    _ name: String, _ body: [UInt8], _ tape: JSONTape?, _ extract: () throws(IngestError) -> [ExtractedEvent],
    events: (JSONTape) -> ([Int], Int?)
) {
    let extracted: [ExtractedEvent]
    do {
        extracted = try extract()
    } catch {
        if error.status != 400 { fail("\(name): refused with status \(error.status): \(error.message)", body) }
        return
    }
    guard let tape else { fail("\(name): extracted events from a body the tape refuses", body) }
    let (values, max) = events(tape)
    if extracted.isEmpty { fail("\(name): accepted a delivery with no event", body) }
    if let max, extracted.count > max { fail("\(name): accepted \(extracted.count) events (> \(max))", body) }
    if extracted.count != values.count { fail("\(name): \(extracted.count) events extracted, \(values.count) in the body", body) }
    for (event, value) in zip(extracted, values) {
        let range = tape.range(value)
        if !event.payload.elementsEqual(body[range]) { fail("\(name): a payload is not the bytes of its event \(range)", body) }
        if event.type.isEmpty { fail("\(name): an event with an empty type", body) }
        guard let own = try? JSONTape(parsing: Array(event.payload)) else { fail("\(name): a payload that is not JSON", body) }
        if name == "orderspace" || name == "o2vend", own.kind(own.root) != .object {
            fail("\(name): a payload that is not an object", body)
        }
    }
}

// MARK: Tape structure

/// Visits every value under `i`: ranges nested and ordered, strings and IDs decodable, and the first
/// members of each object reachable again by their key and by a JSON pointer built from the key path.
///
/// - Parameter path: the JSON pointer of `i`, or nil below a key that is not printable ASCII (pointers
///   are split on Characters, so `/` followed by a combining mark is not a separator: the round trip is
///   checked for the keys configured pointers actually name).
private func walk(_ tape: JSONTape, _ i: Int, path: String?, parent: Range<Int>?) {
    let r = tape.range(i)
    let bytes = tape.bytes
    if r.isEmpty || r.lowerBound < 0 || r.upperBound > bytes.count { fail("value \(i) has range \(r)", bytes) }
    if let parent, !(parent.lowerBound < r.lowerBound && r.upperBound < parent.upperBound) {
        fail("value \(i) at \(r) is not inside its container \(parent)", bytes)
    }
    switch tape.kind(i) {
    case .string:
        guard let s = tape.string(i), tape.idText(i) == s else { fail("string \(i) does not decode", bytes) }
        if bytes[r.lowerBound] != UInt8(ascii: "\"") || bytes[r.upperBound - 1] != UInt8(ascii: "\"") {
            fail("string \(i) is not quoted", bytes)
        }
    case .number:
        if tape.idText(i) != String(decoding: bytes[r], as: UTF8.self) { fail("number \(i): ID text differs from its bytes", bytes) }
        if tape.string(i) != nil { fail("number \(i) has string text", bytes) }
    case .true, .false, .null:
        let word = String(decoding: bytes[r], as: UTF8.self)
        if word != "\(tape.kind(i))" { fail("literal \(i) reads \(word)", bytes) }
        if tape.idText(i) != nil { fail("literal \(i) has ID text", bytes) }
    case .array:
        if !tape.members(i).isEmpty { fail("array \(i) has members", bytes) }
        var last = r.lowerBound
        for (n, e) in tape.elements(i).enumerated() {
            if tape.range(e).lowerBound <= last { fail("array \(i): element \(n) out of order", bytes) }
            last = tape.range(e).upperBound - 1
            walk(tape, e, path: n < 3 ? path.map { $0 + "/\(n)" } : nil, parent: r)
            if n < 3, let path, tape.pointer(path + "/\(n)") != e {
                fail("pointer \(path)/\(n) does not lead to element \(n)", bytes)
            }
        }
    case .object:
        if !tape.elements(i).isEmpty { fail("object \(i) has elements", bytes) }
        var last = r.lowerBound
        let members = tape.members(i)
        for (n, (k, v)) in members.enumerated() {
            if tape.kind(k) != .string { fail("object \(i): a key that is not a string", bytes) }
            if tape.range(k).lowerBound <= last || tape.range(v).lowerBound < tape.range(k).upperBound {
                fail("object \(i): member out of order", bytes)
            }
            last = tape.range(v).upperBound - 1
            walk(tape, k, path: nil, parent: r)
            guard let key = tape.string(k) else { continue }
            guard n < 8 else {  // lookups are linear: the first members only
                walk(tape, v, path: nil, parent: r)
                continue
            }
            // `member` finds the first member whose key is this text.
            guard let found = tape.member(i, key) else { fail("member \(key.debugDescription) not found", bytes) }
            guard let foundKey = members.first(where: { $0.value == found })?.key, tape.string(foundKey) == key else {
                fail("member \(key.debugDescription) found under another key", bytes)
            }
            let printable = key.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
            let escaped = key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
            // A pointer leads to the first member of a name: the path holds for that one only.
            let childPath = printable && found == v ? path.map { $0 + "/" + escaped } : nil
            if let childPath, tape.pointer(childPath) != found {
                fail("pointer \(childPath) does not lead to member \(key.debugDescription)", bytes)
            }
            walk(tape, v, path: childPath, parent: r)
        }
    }
}

// MARK: Export's writers

private func exportWriters(_ tape: JSONTape, _ minified: [UInt8]) {
    let body = tape.bytes
    guard let small = try? JSONTape(parsing: minified) else { fail("the minified document is not JSON", body) }
    if kinds(tape, tape.root) != kinds(small, small.root) { fail("the minified document has another shape", body) }
    var strings = 0
    func visit(_ i: Int) {
        guard strings < 16 else { return }
        switch tape.kind(i) {
        case .string:
            strings += 1
            let text = tape.string(i)!
            var out: [UInt8] = []
            JSONText.appendString(text, to: &out)
            guard let back = try? JSONTape(parsing: out), back.string(back.root) == text else {
                fail("appendString(\(text.debugDescription)) does not parse back to it", body)
            }
        case .array: tape.elements(i).forEach(visit)
        case .object: tape.members(i).forEach { visit($0.key); visit($0.value) }
        default: break
        }
    }
    visit(tape.root)
}

/// The kinds of a value's tokens in document order (keys included).
private func kinds(_ tape: JSONTape, _ i: Int) -> [JSONTape.Kind] {
    switch tape.kind(i) {
    case .array: return [.array] + tape.elements(i).flatMap { kinds(tape, $0) }
    case .object: return [.object] + tape.members(i).flatMap { [tape.kind($0.key)] + kinds(tape, $0.value) }
    case let k: return [k]
    }
}

// MARK: Differential with Foundation

/// FUZZ_JSON_STRICT=1: no exemption (the unit test's rule as it is), to see the Foundation limits found.
private let strict = ProcessInfo.processInfo.environment["FUZZ_JSON_STRICT"] == "1"

private func differential(_ tape: JSONTape, _ body: [UInt8]) {
    guard let object = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
        if !strict, foundationLimit(tape, tape.root) != nil { return }
        fail("the tape accepts what JSONSerialization refuses", body)
    }
    compare(tape, tape.root, object, body)
}

/// Why Foundation may refuse a document the tape accepts, if the value at `i` holds such a thing.
private func foundationLimit(_ tape: JSONTape, _ i: Int) -> String? {
    switch tape.kind(i) {
    case .number:
        let text = String(decoding: tape.bytes[tape.range(i)], as: UTF8.self)
        if let d = Double(text), !d.isFinite { return "number out of Double range" }
        return nil
    case .string:
        return hasUnpairedSurrogate(tape.bytes, tape.range(i)) ? "unpaired surrogate escape" : nil
    case .array:
        for e in tape.elements(i) { if let why = foundationLimit(tape, e) { return why } }
        return nil
    case .object:
        for (k, v) in tape.members(i) {
            if let why = foundationLimit(tape, k) ?? foundationLimit(tape, v) { return why }
        }
        return nil
    default:
        return nil
    }
}

/// Whether the string literal at `r` holds a `\uD800`–`\uDFFF` escape that is not a high+low pair.
private func hasUnpairedSurrogate(_ bytes: [UInt8], _ r: Range<Int>) -> Bool {
    func escape(at j: Int) -> UInt32? {
        guard j + 6 <= r.upperBound, bytes[j] == UInt8(ascii: "\\"), bytes[j + 1] == UInt8(ascii: "u") else { return nil }
        return UInt32(String(decoding: bytes[(j + 2)..<(j + 6)], as: UTF8.self), radix: 16)
    }
    var j = r.lowerBound + 1
    while j < r.upperBound - 1 {
        guard bytes[j] == UInt8(ascii: "\\") else {
            j += 1
            continue
        }
        guard let u = escape(at: j) else {
            j += 2  // a one-character escape
            continue
        }
        if (0xDC00..<0xE000).contains(u) { return true }
        if (0xD800..<0xDC00).contains(u) {
            guard let low = escape(at: j + 6), (0xDC00..<0xE000).contains(low) else { return true }
            j += 12
            continue
        }
        j += 6
    }
    return false
}

/// Where both accept: same strings (decoded), same array lengths, same object keys.
private func compare(_ tape: JSONTape, _ i: Int, _ object: Any, _ body: [UInt8]) {
    switch tape.kind(i) {
    case .string:
        guard let theirs = object as? String else { fail("value \(i): Foundation did not read a string", body) }
        let mine = tape.string(i)!
        if Array(mine.utf8) != Array(theirs.utf8) {
            fail("string \(i) decodes to \(mine.debugDescription), Foundation says \(theirs.debugDescription)", body)
        }
    case .null:
        if !(object is NSNull) { fail("value \(i): Foundation did not read null", body) }
    case .number, .true, .false:
        if object is String || object is NSNull || object is [Any] || object is [String: Any] {
            fail("value \(i): Foundation read a \(type(of: object)) for a \(tape.kind(i))", body)
        }
    case .array:
        guard let theirs = object as? [Any] else { fail("value \(i): Foundation did not read an array", body) }
        let mine = tape.elements(i)
        if mine.count != theirs.count { fail("array \(i): \(mine.count) elements, Foundation \(theirs.count)", body) }
        for (e, t) in zip(mine, theirs) { compare(tape, e, t, body) }
    case .object:
        guard let theirs = object as? [String: Any] else { fail("value \(i): Foundation did not read an object", body) }
        let members = tape.members(i)
        let keys = members.map { tape.string($0.key)! }
        // Duplicate keys (or keys Swift's String equality merges) leave Foundation's choice unspecified.
        guard Set(keys).count == keys.count, Set(keys.map { Array($0.utf8) }).count == keys.count else { return }
        if theirs.count != keys.count { fail("object \(i): \(keys.count) keys, Foundation \(theirs.count)", body) }
        for (key, (_, v)) in zip(keys, members) {
            guard let t = theirs[key] else { fail("object \(i): Foundation has no key \(key.debugDescription)", body) }
            compare(tape, v, t, body)
        }
    }
}
