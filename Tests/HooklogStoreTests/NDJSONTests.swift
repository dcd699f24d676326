import Foundation
import HooklogStore
import Testing

@Suite struct NDJSONTests {
    /// Names full of bytes that must be escaped (each control byte takes six: `\u00XX`), many refs, and
    /// pretty-printed payloads: `writeNDJSON` stays within `ndjsonCapacity`, writes what `appendNDJSON`
    /// appends, and each line decodes to the event's fields and payload.
    @Test func linesStayWithinTheirCapacityAndDecodeToTheEvent() async throws {
        let dir = TempDirectory()
        let store = try ArchiveStore.open(directory: dir.path)
        var rng = SystemRandomNumberGenerator()
        let nasty = (0..<32).map { String(UnicodeScalar(UInt8($0))) } + ["\"", "\\", "é", "€", "𝄞", "a", " "]
        func name(_ length: Int) -> String { (0..<length).map { _ in nasty.randomElement(using: &rng)! }.joined() }
        var events: [NewEvent] = []
        for i in 0..<300 {
            let control = i % 3 == 0 ? String(repeating: "\u{01}", count: i % 40) : name(i % 23)
            let payload =
                "{\n  \"n\" : \(i),\n\t\"s\": \"a \\\"b\\\" \\\\ \(i)\",\r\n  \"list\": [ 1, 2 , {\"x\": null} ]\n}"
            events.append(
                NewEvent(
                    account: control, source: name(i % 5), type: name(1 + i % 7),
                    entity: i % 4 == 0 ? nil : name(i % 11),
                    refs: (0..<(i % 9)).map { _ in name(Int.random(in: 0...12, using: &rng)) },
                    id: i % 2 == 0 ? nil : name(i % 13),
                    payload: Array(payload.utf8)))
        }
        _ = try await store.append(events)
        store.close()
        let snapshot = try ArchiveReader(directory: dir.path).snapshot()
        var seen = 0
        try snapshot.forEachView(matching: EventFilter()) { view in
            let event = events[seen]
            seen += 1
            let capacity = view.ndjsonCapacity
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            defer { buffer.deallocate() }
            let n = view.writeNDJSON(to: buffer)
            #expect(n <= capacity)
            let line = Array(UnsafeBufferPointer(start: buffer, count: n))
            var appended: [UInt8] = []
            view.appendNDJSON(to: &appended)
            #expect(line == appended)
            #expect(!line.contains(0x0A) && !line.contains(0x0D))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            #expect(object["seq"] as? Int == Int(view.seq))
            #expect(object["account"] as? String == event.account)
            #expect(object["source"] as? String == event.source)
            #expect(object["type"] as? String == event.type)
            #expect(object["entity"] as? String == event.entity)
            #expect(object["id"] as? String == event.id)
            #expect(object["refs"] as? [String] == event.refs)
            #expect(object["received_at"] as? String == RFC3339.format(micros: view.receivedAtMicros))
            let payload = try JSONSerialization.data(withJSONObject: object["payload"]!, options: .sortedKeys)
            let original = try JSONSerialization.data(
                withJSONObject: try JSONSerialization.jsonObject(with: Data(event.payload)), options: .sortedKeys)
            #expect(payload == original)
            return true
        }
        #expect(seen == events.count)
    }
}
