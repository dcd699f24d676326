import Foundation
import HooklogStore
import Testing

@Suite struct JSONTextTests {
    /// Random valid JSON with the hard cases: whitespace everywhere, escaped quotes, runs of backslashes
    /// before a quote, control escapes, multi-byte UTF-8.
    static func randomJSON(_ rng: inout some RandomNumberGenerator, depth: Int = 0) -> String {
        func ws() -> String { String((0..<Int.random(in: 0...3, using: &rng)).map { _ in [" ", "\n", "\t", "\r"].randomElement(using: &rng)! }) }
        func string() -> String {
            let pieces = ["a", "\\\"", "\\\\", "\\\\\\\"", "\\n", "é", "€", " ", "{", "]", ",", ":", "\\u0041", "\\\\\\\\"]
            return "\"" + (0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined() + "\""
        }
        let kind = depth > 3 ? Int.random(in: 0...2, using: &rng) : Int.random(in: 0...4, using: &rng)
        switch kind {
        case 0: return ws() + string() + ws()
        case 1: return ws() + ["0", "-12.5e3", "true", "null", "42"].randomElement(using: &rng)! + ws()
        case 2: return ws() + string() + ws()
        case 3:
            let members = (0..<Int.random(in: 0...4, using: &rng)).map { _ in ws() + string() + ws() + ":" + randomJSON(&rng, depth: depth + 1) }
            return ws() + "{" + members.joined(separator: ",") + ws() + "}" + ws()
        default:
            let items = (0..<Int.random(in: 0...4, using: &rng)).map { _ in randomJSON(&rng, depth: depth + 1) }
            return ws() + "[" + items.joined(separator: ",") + ws() + "]" + ws()
        }
    }

    @Test("the fast minifier gives exactly what the byte-at-a-time reference gives, on 5000 random documents")
    func minifierMatchesReference() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let text = Self.randomJSON(&rng)
            let bytes = Array(text.utf8)
            #expect((try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)) != nil, "generator: \(text)")
            // Also inside a larger buffer, as payloads sit inside decoded blocks.
            let padded = Array("xx".utf8) + bytes + Array("yy".utf8)
            var fast: [UInt8] = [], reference: [UInt8] = []
            JSONText.appendMinified(padded, 2..<(2 + bytes.count), to: &fast)
            JSONText.appendMinifiedReference(padded, 2..<(2 + bytes.count), to: &reference)
            #expect(fast == reference, "\(text)")
            #expect(!fast.contains(0x0A))
        }
    }

    @Test("strings come out as JSON literals that decode to the same text")
    func stringEscaping() throws {
        for s in ["", "plain", "a\"b", "back\\slash", "line\nfeed\r\t", "\u{01}\u{1F}", "é€𝄞", "\"\\\"\\\\"] {
            var out: [UInt8] = []
            JSONText.appendString(s, to: &out)
            let decoded = try JSONSerialization.jsonObject(with: Data(out), options: .fragmentsAllowed) as? String
            #expect(decoded == s)
        }
    }
}
