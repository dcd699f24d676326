import Foundation
import HooklogIngest
import Testing

/// What the fuzz-json target (fuzz/, `fuzz/run.sh`) found. No input crashed the tape or the extractors.
/// Under the differential rule of `JSONTapeTests.mutatedFixturesNeverCrashAndAgreeWithFoundation` as it
/// stands (what the tape accepts, `JSONSerialization` accepts), it found valid RFC 8259 documents that
/// Foundation refuses; the target now exempts these two limits of Foundation, and these tests pin the
/// tape's behaviour on them (accepted, kept byte for byte) so that it changes only on purpose.
@Suite struct FuzzRegressionTests {
    // Found from the fixtures alone (FUZZ_JSON_STRICT=1): an exponent past a Double's range. Foundation
    // answers "Number … is not representable in Swift"; RFC 8259 §6 lets a parser limit the range of
    // numbers it converts, and the tape converts none: an ID number is its text as sent.
    @Test func numbersBeyondADoubleAreAcceptedAsSent() throws {
        let text =
            "9e8888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888"
        let tape = try JSONTape(parsing: Array(text.utf8))
        #expect(tape.kind(tape.root) == .number && tape.idText(tape.root) == text)

        let body = Array(#"[{"event":"order.created","data":{"order":{"id":1e400,"customer_id":-2E+999}}}]"#.utf8)
        let events = try OrderspaceSource.extract(body: body)
        #expect(events.count == 1 && events[0].entity == "1e400" && events[0].refs == ["-2E+999"])
        #expect(Array(events[0].payload) == Array(body.dropFirst().dropLast()))
    }

    // A `\uD800`–`\uDFFF` escape that is not half of a surrogate pair: the grammar allows it, RFC 8259 §8.2
    // says what a parser does with it is unpredictable, Foundation refuses the document. The tape accepts
    // it (the payload is stored as received) and decodes that escape as U+FFFD wherever it reads text.
    @Test func unpairedSurrogateEscapesDecodeAsReplacement() throws {
        let tape = try JSONTape(parsing: Array(#"{"a":"x\ud800y","b":"\udc00","c":"\ud83d\ude00","\ud800":1}"#.utf8))
        #expect(tape.pointer("/a").flatMap(tape.string) == "x\u{FFFD}y")
        #expect(tape.pointer("/b").flatMap(tape.string) == "\u{FFFD}")
        #expect(tape.pointer("/c").flatMap(tape.string) == "😀")
        #expect(tape.member(tape.root, "\u{FFFD}").flatMap(tape.idText) == "1")

        let body = Array(#"{"Id":"\udc00","Event":"Order.Create","Data":{"Id":"\ud800x"}}"#.utf8)
        let events = try O2VendSource.extract(body: body)
        #expect(
            events.count == 1 && events[0].id == "\u{FFFD}" && events[0].entity == "\u{FFFD}x"
                && Array(events[0].payload) == body)
    }
}
