import Foundation
import Testing

@testable import HooklogReplay

@Suite struct DeadLetterReaderTests {
    @Test func seqsMustBePositiveIntegersAndAreReadWithoutATrap() throws {
        let path = NSTemporaryDirectory() + "hooklog-dead-\(UUID().uuidString).ndjson"
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(
            atPath: path, contents: Data("{\"seq\":3}\n{\"seq\":1}\n\n{\"seq\":3}\n".utf8))
        #expect(try DeadLetterReader.seqs(path) == [1, 3])
        for bad in [
            "{\"seq\":18446744073709551615}", "{\"seq\":1e30}", "{\"seq\":-1}", "{\"seq\":0}", "{\"seq\":1.5}",
            "{\"seq\":\"4\"}", "[1]",
            "{\"seq\":9223372036854775808}", "not json",
        ] {
            _ = FileManager.default.createFile(atPath: path, contents: Data((bad + "\n").utf8))
            #expect(throws: ReplayError.self, "\(bad)") { try DeadLetterReader.seqs(path) }
        }
        _ = FileManager.default.createFile(atPath: path, contents: Data("{\"seq\":9223372036854775807}\n".utf8))
        #expect(
            try DeadLetterReader.seqs(path) == [UInt64(Int64.max)], "the largest seq: seq + 1 must not overflow either")
    }
}
