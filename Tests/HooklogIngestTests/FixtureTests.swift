import Foundation
import Testing

@testable import HooklogIngest

/// The example deliveries in `Tests/Fixtures` (see its README).
enum Fixtures {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures")
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(name)))
    }

    struct Expected: Decodable {
        var fixture: String
        var index: Int
        var type: String
        var entity: String?
        var id: String?
        var refs: [String]
    }

    static func expected() throws -> [Expected] {
        try String(decoding: Data(contentsOf: root.appendingPathComponent("expected.ndjson")), as: UTF8.self)
            .split(separator: "\n").map { try JSONDecoder().decode(Expected.self, from: Data($0.utf8)) }
    }

    /// Headers of a generic fixture (`NAME: value` lines; `#` lines are notes).
    static func headers(_ name: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for line in String(decoding: try bytes(name), as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// The `hooklog source add` options a generic fixture's `# source:` line names.
    static func source(_ name: String, headersFile: String) throws -> GenericSource {
        let line = String(decoding: try bytes(headersFile), as: UTF8.self).split(separator: "\n")
            .first { $0.hasPrefix("# source:") }!
        let words = line.dropFirst("# source:".count).split(separator: " ").map(String.init)
        func value(_ flag: String) -> String? { words.firstIndex(of: flag).map { words[$0 + 1] } }
        var source = GenericSource(
            name: name, typeAt: value("--type-at")!, entityAt: value("--entity-at")!, idAt: value("--id-at"))
        source.refsAt = words.indices.filter { words[$0] == "--refs-at" }.map { words[$0 + 1] }
        // Standard Webhooks: `webhook-id` is the event id unless --id-at says otherwise.
        if source.idAt == nil, value("--verify") == "standard-webhooks" { source.idAt = "header:webhook-id" }
        return source
    }

    static func extract(_ name: String) throws -> [ExtractedEvent] {
        let body = try bytes(name)
        if name.hasPrefix("orderspace/") { return try OrderspaceSource.extract(body: body) }
        if name.hasPrefix("o2vend/") { return try O2VendSource.extract(body: body) }
        let stem = String(name.dropSuffix(".json"))
        return try source(String(stem.split(separator: "/").last!), headersFile: stem + ".headers")
            .extract(body: body, headers: try headers(stem + ".headers"))
    }
}

extension String {
    func dropSuffix(_ s: String) -> Substring { hasSuffix(s) ? dropLast(s.count) : Substring(self) }
}

@Suite struct FixtureTests {
    @Test func everyGoodFixtureYieldsTheExpectedFields() throws {
        let expected = try Fixtures.expected()
        #expect(expected.count == 69)
        for (fixture, rows) in Dictionary(grouping: expected, by: \.fixture) {
            let events = try Fixtures.extract(fixture)
            try #require(events.count == rows.count, "\(fixture): \(events.count) events")
            for row in rows {
                let e = events[row.index]
                #expect(e.type == row.type, "\(fixture)[\(row.index)]")
                #expect(e.entity == row.entity, "\(fixture)[\(row.index)] entity")
                #expect(e.id == row.id, "\(fixture)[\(row.index)] id")
                #expect(
                    Set(row.refs).isSubset(of: Set(e.refs)), "\(fixture)[\(row.index)] refs \(e.refs) ⊉ \(row.refs)")
            }
        }
    }

    @Test func eachEventKeepsItsBytesExactlyAsReceived() throws {
        let body = try Fixtures.bytes("orderspace/batch-mixed.json")
        let events = try OrderspaceSource.extract(body: body)
        let parsed = try JSONSerialization.jsonObject(with: Data(body)) as! [Any]
        for (event, original) in zip(events, parsed) {
            // The payload is a slice of the body (pretty-printing included) and parses to the same object.
            #expect(String(decoding: body, as: UTF8.self).contains(String(decoding: event.payload, as: UTF8.self)))
            let mine = try JSONSerialization.jsonObject(with: Data(event.payload))
            #expect(NSDictionary(dictionary: mine as! [String: Any]).isEqual(to: original as! [String: Any]))
        }
        // A single-object body: the payload is the whole object, byte for byte; only the whitespace around
        // the value (the file's final newline) is the request's, not the event's.
        let single = try Fixtures.bytes("o2vend/order-create.json")
        var trimmed = single[...]
        while let last = trimmed.last, last == 0x0A || last == 0x20 || last == 0x0D { trimmed = trimmed.dropLast() }
        #expect(try O2VendSource.extract(body: single)[0].payload.elementsEqual(trimmed))
    }

    /// The error a refused extraction threw, or nil if it was accepted.
    func refusal(_ extract: () throws(IngestError) -> [ExtractedEvent]) -> IngestError? {
        do {
            _ = try extract()
            return nil
        } catch {
            return error
        }
    }

    @Test func everyBadFixtureIsRefusedWhole() throws {
        let cases: [(String, String)] = [
            ("bad/batch-of-51.json", "at most 50"), ("bad/deep-nesting.json", "nesting"),
            ("bad/invalid-utf8.json", "UTF-8"),
            ("bad/no-event-field.json", "no \"event\" type"), ("bad/not-json.txt", "malformed JSON"),
            ("bad/truncated.json", "unexpected end"), ("bad/o2vend-doc-style.json", "malformed JSON"),
        ]
        for (name, words) in cases {
            let body = try Fixtures.bytes(name)
            let orderspace = refusal { () throws(IngestError) in try OrderspaceSource.extract(body: body) }
            #expect(orderspace?.status == 400, "\(name)")
            #expect(orderspace?.message.contains(words) == true, "\(name): \(orderspace?.message ?? "accepted")")
            // None of them is an acceptable O2VEND delivery either (no "Event" in the well-formed ones).
            #expect(
                refusal { () throws(IngestError) in try O2VendSource.extract(body: body) }?.status == 400, "\(name)")
        }
    }

    @Test func unknownTypesAndMissingEntitiesAreKept() throws {
        let events = try Fixtures.extract("orderspace/unknown-type.json")
        #expect(events.count == 1 && events[0].type == "price_list.updated" && events[0].entity == nil)
        let noData = try OrderspaceSource.extract(body: Array(#"[{"event":"order.created"}]"#.utf8))
        #expect(noData[0].entity == nil && noData[0].refs.isEmpty)
    }
}

@Suite struct JSONTapeTests {
    @Test func navigatesPointersAndDecodesEscapes() throws {
        let tape = try JSONTape(
            parsing: Array(#" {"a/b": {"~x": [1, {"id": "q\"\u00e9\ud83d\ude00"}]}, "n": -12.5e3, "t": true} "#.utf8))
        #expect(tape.pointer("/a~1b/~0x/1/id").flatMap(tape.string) == "q\"é😀")
        #expect(tape.pointer("/a~1b/~0x/0").flatMap(tape.idText) == "1")
        #expect(tape.pointer("/n").flatMap(tape.idText) == "-12.5e3")
        #expect(tape.pointer("/t").map(tape.kind) == .true)
        #expect(tape.pointer("/missing") == nil && tape.pointer("/a~1b/~0x/9") == nil)
    }

    @Test func refusesWhatIsNotJSON() {
        for text in [
            "", " ", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "tru", "\"\u{01}\"", "\"\\q\"", "[1] x", "{'a':1}",
            "NaN",
        ] {
            #expect(throws: JSONTape.Failure.self, "\(text)") { try JSONTape(parsing: Array(text.utf8)) }
        }
        for bytes: [UInt8] in [
            [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],
            [0x22, 0xE2, 0x82, 0x22],
        ] {
            #expect(throws: JSONTape.Failure.self) { try JSONTape(parsing: bytes) }
        }
    }

    /// Each refusal the C pass reports comes out in the words and at the offset the Swift parser before it
    /// gave (a 400's message quotes them), one document for each.
    @Test func everyRefusalSaysWhatAndWhere() {
        let cases: [([UInt8], String, Int)] = [
            ([], "empty body", 0),
            (Array(" ".utf8), "unexpected end of JSON", 1),
            (Array("p".utf8), "unexpected character 'p'", 0),
            ([0x5B, 0x01], "unexpected character '\\x1'", 1),
            (Array("tr,u".utf8), "invalid literal", 2),
            (Array("[[[[[[[[[[[[[[[[[".utf8), "nesting deeper than 16 levels", 16),
            (Array("{1".utf8), "expected a member name in quotes", 1),
            (Array(#"{""""#.utf8), "expected ':' after a member name", 3),
            (Array(#"{"Id":1c2"#.utf8), "expected ',' or '}'", 7),
            ([0x5B, 0x31, 0x00], "expected ',' or ']'", 2),
            (Array(#"{"a":"\u"#.utf8), "invalid \\u escape", 6),
            (Array(#""\q""#.utf8), "invalid escape", 1),
            ([0x22, 0x0A], "control character in a string", 1),
            (Array(#"""#.utf8), "unterminated string", 1),
            ([0x22, 0x90], "invalid UTF-8", 1),
            (Array("-".utf8), "invalid number", 1),
            (Array("1,".utf8), "unexpected data after the JSON value", 1),
        ]
        for (bytes, reason, offset) in cases {
            #expect(throws: JSONTape.Failure(reason: reason, offset: offset), "\(bytes)") {
                try JSONTape(parsing: bytes, maxDepth: 16)
            }
        }
    }

    /// The string scanner skips 16 bytes at a time (SSE2; 8 with SWAR on other CPUs) and must stop at
    /// exactly the right byte wherever it falls in a window: each byte that needs attention, at every
    /// offset of strings of every length over two windows and the byte-by-byte tail, is found and handled
    /// as the byte-by-byte rules say.
    @Test func stringScanStopsAtEveryByteThatNeedsAttentionAtAnyOffset() throws {
        let plain = Array("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ".utf8)
        // (bytes to insert, accepted, what they decode to)
        let specials: [([UInt8], Bool, String)] = [
            (Array("é".utf8), true, "é"), (Array("😀".utf8), true, "😀"), (Array(#"\n"#.utf8), true, "\n"),
            (Array(#"\u00e9"#.utf8), true, "é"), (Array(#"\""#.utf8), true, "\""), ([0x7F], true, "\u{7F}"),
            ([0x20], true, " "), ([0x22], false, ""), ([0x01], false, ""), ([0x1F], false, ""), ([0xFF], false, ""),
            ([0xC3], false, ""), (Array(#"\x"#.utf8), false, ""),
        ]
        for (special, accepted, decoded) in specials {
            for length in 0..<40 {
                for at in 0...length {
                    let inner = Array(plain[0..<at]) + special + Array(plain[at..<length])
                    let body = Array(#"[1,""#.utf8) + inner + Array(#"",true]"#.utf8)
                    let label = "\(special) at \(at) of \(length)"
                    guard accepted else {
                        #expect(throws: JSONTape.Failure.self, "\(label)") { try JSONTape(parsing: body) }
                        continue
                    }
                    let tape = try JSONTape(parsing: body)
                    let expected =
                        String(decoding: plain[0..<at], as: UTF8.self) + decoded
                        + String(decoding: plain[at..<length], as: UTF8.self)
                    #expect(tape.pointer("/1").flatMap(tape.string) == expected, "\(label)")
                    #expect(tape.pointer("/2").map(tape.kind) == .true, "\(label)")
                }
            }
        }
    }

    @Test func mutatedFixturesNeverCrashAndAgreeWithFoundation() throws {
        var state: UInt64 = 42
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let seeds = try ["orderspace/batch-mixed.json", "o2vend/order-create.json", "generic/stripe-style.json"].map(
            Fixtures.bytes)
        for round in 0..<3000 {
            var body = seeds[round % seeds.count]
            for _ in 0..<(1 + Int(next() % 4)) {
                let at = Int(next() % UInt64(body.count))
                switch next() % 3 {
                case 0: body[at] = UInt8(truncatingIfNeeded: next())
                case 1: body.remove(at: at)
                default:
                    let punctuation = Array("{}[]\",:\\0e-".utf8)
                    body.insert(punctuation[Int(next() % UInt64(punctuation.count))], at: at)
                }
            }
            let mine = (try? JSONTape(parsing: body)) != nil
            let foundation = (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])) != nil
            if mine {
                #expect(foundation, "accepted what Foundation refuses: \(String(decoding: body, as: UTF8.self))")
            }
            _ = try? OrderspaceSource.extract(body: body)
            _ = try? O2VendSource.extract(body: body)
        }
    }
}
