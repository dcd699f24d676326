import CJSONMinify
import Foundation
import HooklogStore
import Testing

@Suite struct JSONTextTests {
    /// Random valid JSON with the hard cases: whitespace everywhere, escaped quotes, runs of backslashes
    /// before a quote, control escapes, multi-byte UTF-8.
    static func randomJSON(_ rng: inout some RandomNumberGenerator, depth: Int = 0) -> String {
        func ws() -> String {
            String(
                (0..<Int.random(in: 0...3, using: &rng)).map { _ in [" ", "\n", "\t", "\r"].randomElement(using: &rng)!
                })
        }
        func string() -> String {
            let pieces = [
                "a", "\\\"", "\\\\", "\\\\\\\"", "\\n", "é", "€", " ", "{", "]", ",", ":", "\\u0041", "\\\\\\\\",
            ]
            return "\""
                + (0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
                + "\""
        }
        let kind = depth > 3 ? Int.random(in: 0...2, using: &rng) : Int.random(in: 0...4, using: &rng)
        switch kind {
        case 0: return ws() + string() + ws()
        case 1: return ws() + ["0", "-12.5e3", "true", "null", "42"].randomElement(using: &rng)! + ws()
        case 2: return ws() + string() + ws()
        case 3:
            let members = (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                ws() + string() + ws() + ":" + randomJSON(&rng, depth: depth + 1)
            }
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
            #expect(
                (try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)) != nil,
                "generator: \(text)")
            // Also inside a larger buffer, as payloads sit inside decoded blocks.
            let padded = Array("xx".utf8) + bytes + Array("yy".utf8)
            var fast: [UInt8] = [], reference: [UInt8] = []
            JSONText.appendMinified(padded, 2..<(2 + bytes.count), to: &fast)
            JSONText.appendMinifiedReference(padded, 2..<(2 + bytes.count), to: &reference)
            #expect(fast == reference, "\(text)")
            #expect(!fast.contains(0x0A))
        }
    }

    /// The three C paths (SSSE3 shuffle where the CPU has it, SSE2 store-every-byte, byte at a time) and
    /// the Swift reference, each into a buffer of exactly the input's size.
    static func minifyAll(_ bytes: [UInt8]) -> [[UInt8]] {
        let kernels: [(UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UInt8>?) -> Int] = [
            hooklog_json_minify, hooklog_json_minify_sse2, hooklog_json_minify_scalar,
        ]
        var outputs: [[UInt8]] = kernels.map { kernel in
            bytes.withUnsafeBufferPointer { src -> [UInt8] in
                let dst = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, bytes.count))
                defer { dst.deallocate() }
                let n = kernel(src.baseAddress, bytes.count, dst)
                // A count past the input (impossible) shows up as an extra byte no other path has.
                let overflow: [UInt8] = n > bytes.count ? [0xEE] : []
                return Array(UnsafeBufferPointer(start: dst, count: min(n, bytes.count))) + overflow
            }
        }
        var reference: [UInt8] = []
        JSONText.appendMinifiedReference(bytes, 0..<bytes.count, to: &reference)
        outputs.append(reference)
        return outputs
    }

    @Test("the 64-byte vector minifier equals the byte-at-a-time one on long documents, across chunk boundaries")
    func vectorMinifierOnLongDocuments() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<400 {
            // Arrays of many random values: hundreds of bytes, strings and whitespace runs across 64-byte
            // chunk edges, chunks with and without backslashes; pretty-printed and ", "-separated alike.
            let items = (0..<Int.random(in: 1...40, using: &rng)).map { _ in Self.randomJSON(&rng) }
            let separator = [",", ", ", ",\n  ", " , "].randomElement(using: &rng)!
            let text = "[" + items.joined(separator: separator) + "]"
            let bytes = Array(text.utf8)
            let outputs = Self.minifyAll(bytes)
            #expect(outputs.allSatisfy { $0 == outputs[3] }, "\(text)")
            #expect(try JSONSerialization.jsonObject(with: Data(outputs[0])) is [Any])
            // Every prefix too (the partial last chunk, and text cut inside a string or after a backslash).
            if bytes.count < 300 {
                for cut in 0..<bytes.count {
                    let prefix = Array(bytes[..<cut])
                    let out = Self.minifyAll(prefix)
                    #expect(out.allSatisfy { $0 == out[3] }, "\(text) cut at \(cut)")
                }
            }
        }
    }

    @Test("on arbitrary bytes every minifier path agrees and never writes more than it read")
    func vectorMinifierOnArbitraryBytes() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x20, 0x0A, 0x09, 0x0D, 0x22, 0x5C, 0x61, 0x7B, 0x3A, 0x2C, 0x00, 0x80, 0xFF]
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...400, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let outputs = Self.minifyAll(bytes)
            #expect(outputs.allSatisfy { $0 == outputs[3] }, "\(bytes)")
            #expect(outputs[0].count <= bytes.count)
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
