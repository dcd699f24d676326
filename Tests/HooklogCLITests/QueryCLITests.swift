import Foundation
import HooklogStore
import Testing

/// Reads an example delivery of `Tests/Fixtures` (see its README).
func fixture(_ name: String) throws -> [UInt8] {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<2 { url.deleteLastPathComponent() }
    return Array(try Data(contentsOf: url.appendingPathComponent("Fixtures/" + name)))
}

/// An archive with the O2VEND fixtures (pretty-printed JSON) and a few Orderspace-shaped events.
func makeArchive(_ dir: String) async throws -> [NewEvent] {
    let store = try ArchiveStore.open(directory: dir)
    var events: [NewEvent] = []
    for (name, type, entity, refs, id) in [
        (
            "o2vend/order-create.json", "Order.Create", "90417", ["168201", "5521", "KRT-GEO-M"],
            "5b0f6c1e-8d2a-4c7e-9a43-2f1d7b6e9c01"
        ),
        (
            "o2vend/shipment-delivered.json", "Shipment.Delivered", "7731", ["90417"],
            "f3b7a1d5-9c2e-4e6f-a8b4-1d0c7e5f3a92"
        ),
        (
            "o2vend/stock-quantity-update.json", "StockQuantityUpdate", "168201", ["KRT-GEO-M"],
            "a4d8f2c6-1e3b-4a7d-8f90-6b5c3e2d1f07"
        ),
    ] {
        events.append(
            NewEvent(
                account: "shop", source: "o2vend", type: type, entity: entity, refs: refs, id: id,
                payload: try fixture(name)))
    }
    for i in 0..<6 {
        let type = ["order.created", "order.updated", "dispatch.created"][i % 3]
        events.append(
            NewEvent(
                account: "trade", source: "orderspace", type: type, entity: i % 3 == 2 ? "di_\(i)" : "or_\(i / 3)",
                refs: i % 3 == 2 ? ["or_\(i / 3)", "MUG-01"] : ["cu_1", "MUG-01"], id: nil,
                payload: Array("{\"event\": \"\(type)\", \"n\": \(i), \"note\": \"a \\\"quoted\\\" word\"}".utf8)))
    }
    _ = try await store.append(events)
    store.close()
    return events
}

@Suite(.serialized) struct QueryCLITests {
    func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    func objects(_ text: String) throws -> [[String: Any]] {
        try lines(text).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    @Test func ndjsonHasExactlyTheContractsKeysAndThePayloadAsJSON() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let events = try await makeArchive(dir)
        let out = try CLI.run(["query", "--data", dir])
        #expect(out.status == 0, "\(out.stderr)")
        let rows = try objects(out.stdout)
        #expect(rows.count == events.count)
        #expect(lines(out.stdout).allSatisfy { !$0.contains("\n") })
        for (row, event) in zip(rows, events) {
            #expect(
                Set(row.keys) == ["seq", "received_at", "account", "source", "type", "entity", "refs", "id", "payload"])
            #expect(row["type"] as? String == event.type && row["account"] as? String == event.account)
            #expect(row["refs"] as? [String] == event.refs)
            #expect((row["id"] as? String) == event.id)
            // The embedded payload is the same JSON as received.
            let embedded = try JSONSerialization.data(withJSONObject: row["payload"]!, options: [.sortedKeys])
            let original = try JSONSerialization.data(
                withJSONObject: try JSONSerialization.jsonObject(with: Data(event.payload)), options: [.sortedKeys])
            #expect(embedded == original)
            let time = row["received_at"] as! String
            #expect(time.hasSuffix("Z") && time.count == 27)
        }
        #expect(rows.map { $0["seq"] as! Int } == Array(1...events.count))
    }

    @Test func everyFilterAndCombinationSelectsTheRightEvents() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeArchive(dir)
        func seqs(_ args: [String]) throws -> [Int] {
            let out = try CLI.run(["query", "--data", dir] + args)
            #expect(out.status == 0, "\(args): \(out.stderr)")
            return try objects(out.stdout).map { $0["seq"] as! Int }
        }
        #expect(try seqs(["--entity", "90417"]) == [1])
        #expect(try seqs(["--ref", "90417"]) == [1, 2])
        #expect(try seqs(["--ref", "KRT-GEO-M"]) == [1, 3])
        #expect(try seqs(["--ref", "or_0"]) == [4, 5, 6])
        #expect(try seqs(["--account", "trade", "--type", "order.*"]) == [4, 5, 7, 8])
        #expect(try seqs(["--source", "o2vend", "--type", "*.*"]) == [1, 2])
        #expect(try seqs(["--type", "Order.Create"]) == [1])
        #expect(try seqs(["--contains", "\"n\": 4"]) == [8])
        #expect(try seqs(["--ref", "MUG-01", "--reverse", "--limit", "2"]) == [9, 8])
        #expect(try seqs(["--limit", "3"]) == [1, 2, 3])
        #expect(try seqs(["--since", "1h"]) == Array(1...9))
        #expect(try seqs(["--until", "1h"]).isEmpty)
        #expect(
            try seqs(["--since", "2000-01-01T00:00:00Z", "--until", "2999-01-01T00:00:00+02:00", "--account", "shop"])
                == [1, 2, 3])
        #expect(try seqs(["--entity", "nobody"]).isEmpty)
    }

    @Test func payloadFormatGivesTheBytesExactlyAsReceived() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeArchive(dir)
        let out = try CLI.run(["query", "--data", dir, "--entity", "7731", "--format", "payload"])
        #expect(Array(out.stdout.utf8) == (try fixture("o2vend/shipment-delivered.json")) + [0x0A])
        let table = try CLI.run(["query", "--data", dir, "--ref", "or_1", "--format", "table"])
        let rows = lines(table.stdout)
        #expect(rows.count == 4 && rows[0].hasPrefix("SEQ") && rows[1].hasPrefix("7 ") && rows[3].contains("di_5"))
    }

    @Test func badTimesAndFlagsAreUsageErrors() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeArchive(dir)
        let bad = try CLI.run(["query", "--data", dir, "--since", "last tuesday"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--since 'last tuesday'") && bad.stderr.split(separator: "\n").count == 1)
        #expect(try CLI.run(["query", "--data", dir, "--format", "xml"]).status == 2)
        let missing = try CLI.run(["query", "--data", dir + "-nope"])
        #expect(missing.status == 1 && missing.stderr.contains("no archive at"))
    }

    /// `query` reads its common flags with a small parser of its own (ArgumentParser's reflection is most
    /// of a cold query's start) and hands everything else to ArgumentParser: both must answer alike.
    @Test func theFastArgumentReaderAnswersExactlyAsArgumentParserDoes() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeArchive(dir)
        let cases: [[String]] = [
            [],
            ["--entity", "90417"],
            ["--entity=90417"],
            ["--ref", "MUG-01", "--reverse", "--limit", "2"],
            ["--reverse", "--ref=MUG-01", "--limit=2", "--format=table"],
            ["--account", "trade", "--type", "order.*", "--format", "payload"],
            ["--source=o2vend", "--type=*.*", "--since", "1h", "--until=2999-01-01T00:00:00Z"],
            ["--contains", "\"n\": 4"],
            ["--contains=-not-a-flag"],
            ["--follow", "--limit", "0"],
            ["--limit", "0"],
            // Everything below is ArgumentParser's to answer (errors, help), or an error of the command.
            ["--limit", "-1"], ["--limit", "two"], ["--limit", "2", "--limit", "3"], ["--follow", "--reverse"],
            ["--entity"], ["--entity", "--ref", "x"], ["--entity="], ["--bogus"], ["-h"], ["--help"], ["positional"],
            ["--reverse", "--reverse"], ["--reverse=true"], ["--format", "xml"], ["--since", "last tuesday"],
            ["--since=1x"],
        ]
        for args in cases {
            for withData in [true, false] {
                let arguments = ["query"] + (withData ? ["--data", dir] : []) + args
                let environment = withData ? [:] : ["HOOKLOG_DATA": dir]
                let fast = try CLI.run(arguments, environment: environment)
                var full = environment
                full["HOOKLOG_FULL_PARSER"] = "1"
                let parsed = try CLI.run(arguments, environment: full)
                #expect(fast.status == parsed.status, "\(arguments)")
                #expect(fast.stdout == parsed.stdout, "\(arguments)")
                #expect(fast.stderr == parsed.stderr, "\(arguments)")
            }
        }
        // And the answers are the right ones, not merely the same.
        let both = try CLI.run(["query", "--data=\(dir)", "--ref=MUG-01", "--reverse", "--limit=2"])
        #expect(try objects(both.stdout).map { $0["seq"] as! Int } == [9, 8])
        #expect(try CLI.run(["query", "--data", dir, "--limit", "-1"]).status == 2)
        #expect(try CLI.run(["query", "--data", dir, "--follow", "--reverse"]).status == 2)
    }

    @Test func followPrintsHistoryThenEachNewEventAsItIsAcknowledged() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeArchive(dir)
        let store = try ArchiveStore.open(directory: dir)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["query", "--data", dir, "--follow", "--account", "live", "--limit", "3"]
        let outPath = tempPath() + ".out"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        try process.run()
        for i in 0..<3 {
            try await Task.sleep(for: .milliseconds(150))
            _ = try await store.append([
                NewEvent(
                    account: i == 1 ? "other" : "live", source: "x", type: "t", entity: "e\(i)", refs: [], id: nil,
                    payload: Array("{}".utf8))
            ])
        }
        _ = try await store.append([
            NewEvent(
                account: "live", source: "x", type: "t", entity: "e3", refs: [], id: nil, payload: Array("{}".utf8))
        ])
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
        let out = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
        #expect(try objects(out).map { $0["entity"] as! String } == ["e0", "e2", "e3"])
        store.close()
    }
}

@Suite(.serialized) struct CheckCLITests {
    @Test func checkFindsAndRepairsATornTailAndBadIndexes() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = StoreOptions()
        options.segmentSize = 4 << 10
        let store = try ArchiveStore.open(directory: dir, options: options)
        for i in 0..<40 {
            _ = try await store.append([
                NewEvent(
                    account: "a", source: "s", type: "t", entity: "e\(i)", refs: [], id: "id\(i)",
                    payload: Array("{\"k\":\(i),\"r\":\"\((0..<40).map { _ in UUID().uuidString }.joined())\"}".utf8))
            ])
        }
        store.close()
        #expect(try CLI.run(["check", "--data", dir]).stdout.contains("checked: clean"))
        let logs = try FileManager.default.contentsOfDirectory(atPath: dir + "/log").sorted()
        let last = dir + "/log/" + logs.filter { $0.hasSuffix(".log") }.last!
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: last))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0x48, 0x4C, 0x46, 0x31, 1, 2, 3]))
        try handle.close()
        let firstIndex = dir + "/log/" + (try #require(logs.first { $0.hasSuffix(".idx") }))
        try FileManager.default.removeItem(atPath: firstIndex)
        let found = try CLI.run(["check", "--data", dir])
        #expect(found.status == 1)
        #expect(found.stdout.contains("torn tail") && found.stdout.contains(last))
        #expect(found.stdout.contains("\(firstIndex) is missing"))
        let repaired = try CLI.run(["check", "--data", dir, "--repair"])
        #expect(repaired.status == 0, "\(repaired.stdout)")
        #expect(repaired.stdout.contains("repaired:") && repaired.stdout.contains("checked: clean"))
        #expect(FileManager.default.fileExists(atPath: firstIndex))
        #expect(try CLI.run(["query", "--data", dir]).stdout.split(separator: "\n").count == 40)
    }

    @Test func aFlippedBitInASealedSegmentIsReportedAndSkipped() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = StoreOptions()
        options.segmentSize = 4 << 10
        options.blockSize = 1 << 10
        let store = try ArchiveStore.open(directory: dir, options: options)
        for i in 0..<60 {
            _ = try await store.append([
                NewEvent(
                    account: "a", source: "s", type: "t", entity: "e\(i)", refs: [], id: nil,
                    payload: Array("{\"k\":\(i),\"r\":\"\((0..<8).map { _ in UUID().uuidString }.joined())\"}".utf8))
            ])
        }
        store.close()
        let first =
            dir + "/log/"
            + (try FileManager.default.contentsOfDirectory(atPath: dir + "/log").sorted().first { $0.hasSuffix(".log") })!
        var bytes = Array(FileManager.default.contents(atPath: first)!)
        bytes[bytes.count / 2] ^= 0x40
        _ = FileManager.default.createFile(atPath: first, contents: Data(bytes))
        let found = try CLI.run(["check", "--data", dir])
        #expect(found.status == 1 && found.stdout.contains(first) && found.stdout.contains("damaged bytes"))
        let query = try CLI.run(["query", "--data", dir])
        #expect(query.status == 0)
        #expect(query.stderr.contains("warning:") && query.stderr.contains(first))
        let seen = query.stdout.split(separator: "\n").count
        #expect(seen > 0 && seen < 60)
        // Repair rebuilds the index around the damage; the lost events stay reported, reads stay quiet.
        let repaired = try CLI.run(["check", "--data", dir, "--repair"])
        #expect(repaired.status == 1 && repaired.stdout.contains("damaged bytes"))
        let after = try CLI.run(["query", "--data", dir])
        #expect(after.stderr.isEmpty && after.stdout.split(separator: "\n").count == seen)
    }
}

extension CheckCLITests {
    /// Every kind of damage at once, in one archive: a sealed segment cut to zero length, a bit flipped
    /// in another sealed segment's block, a bit flipped in an index file, a deleted index file and a torn
    /// tail at a random offset of the active segment. `check` names each with its file (and offset where
    /// there is one), `query` serves every event the damage did not touch, and `check --repair` leaves
    /// an archive whose only remaining report is the data that is gone, readable without a warning and
    /// writable again.
    @Test func everyKindOfDamageAtOnceIsReportedServedAroundAndRepaired() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = StoreOptions()
        options.segmentSize = 4 << 10
        options.blockSize = 1 << 10
        options.recompressSealed = false
        let store = try ArchiveStore.open(directory: dir, options: options)
        for i in 0..<120 {
            _ = try await store.append([
                NewEvent(
                    account: "a", source: "s", type: "t", entity: "e\(i)", refs: [], id: "id\(i)",
                    payload: Array("{\"k\":\(i),\"r\":\"\((0..<6).map { _ in UUID().uuidString }.joined())\"}".utf8))
            ])
        }
        store.close()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/log").sorted()
        let logs = names.filter { $0.hasSuffix(".log") }.map { dir + "/log/" + $0 }
        let indexes = names.filter { $0.hasSuffix(".idx") }.map { dir + "/log/" + $0 }
        try #require(logs.count >= 6 && indexes.count >= 4)
        func seqs(_ out: String) throws -> Set<Int> {
            Set(
                try out.split(separator: "\n").map {
                    (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["seq"] as! Int
                })
        }
        let before = try seqs(try CLI.run(["query", "--data", dir]).stdout)
        #expect(before.count == 120)
        func seqsOf(_ segment: String) throws -> Set<Int> {
            let base = Int(URL(fileURLWithPath: segment).deletingPathExtension().lastPathComponent)!
            let next = logs.firstIndex(of: segment).map {
                $0 + 1 < logs.count
                    ? Int(URL(fileURLWithPath: logs[$0 + 1]).deletingPathExtension().lastPathComponent)! : 121
            }!
            return Set(base..<next)
        }
        // 1. A sealed segment cut to zero length (its index goes with it: a stale index is not trusted).
        let emptied = logs[1]
        let emptiedSeqs = try seqsOf(emptied)
        _ = FileManager.default.createFile(atPath: emptied, contents: Data())
        // 2. A bit flipped in the middle of another sealed segment.
        let flipped = logs[3]
        var bytes = Array(FileManager.default.contents(atPath: flipped)!)
        bytes[bytes.count / 2] ^= 0x08
        _ = FileManager.default.createFile(atPath: flipped, contents: Data(bytes))
        // 3. A bit flipped in an index file; 4. another index file deleted.
        let badIndex = indexes[0]
        var index = Array(FileManager.default.contents(atPath: badIndex)!)
        index[index.count / 2] ^= 0x01
        _ = FileManager.default.createFile(atPath: badIndex, contents: Data(index))
        let deletedIndex = indexes[2]
        try FileManager.default.removeItem(atPath: deletedIndex)
        // 5. A torn tail: garbage after the active segment's last frame, at a random length.
        let active = logs.last!
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: active))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((0..<Int.random(in: 1...300)).map { _ in UInt8.random(in: 1...255) }))
        try handle.close()

        let found = try CLI.run(["check", "--data", dir])
        #expect(found.status == 1)
        for path in [emptied, flipped, badIndex, deletedIndex, active] {
            #expect(found.stdout.contains(path), "check does not name \(path): \(found.stdout)")
        }
        #expect(found.stdout.contains("offset"), "\(found.stdout)")
        let query = try CLI.run(["query", "--data", dir])
        #expect(query.status == 0)
        #expect(query.stderr.contains("warning:"))
        let served = try seqs(query.stdout)
        // Every event outside the emptied segment and the flipped block is served.
        let lostToFlip = before.subtracting(emptiedSeqs).subtracting(served)
        #expect(served.isSubset(of: before) && served.isDisjoint(with: emptiedSeqs))
        let flippedSeqs = try seqsOf(flipped)
        #expect(
            !lostToFlip.isEmpty && lostToFlip.isSubset(of: flippedSeqs) && lostToFlip.count <= 20,
            "\(lostToFlip.sorted())")

        let repaired = try CLI.run(["check", "--data", dir, "--repair"])
        #expect(repaired.stdout.contains("repaired:"), "\(repaired.stdout)")
        let after = try CLI.run(["check", "--data", dir])
        // What is gone stays reported (exit 1); nothing else does.
        #expect(
            !after.stdout.contains(badIndex) && !after.stdout.contains(deletedIndex) && !after.stdout.contains("torn"),
            "\(after.stdout)")
        #expect(after.stdout.contains(flipped))
        let reread = try CLI.run(["query", "--data", dir])
        let reserved = try seqs(reread.stdout)
        #expect(reread.status == 0 && reserved == served)
        let reopened = try ArchiveStore.open(directory: dir, options: options)
        let next = try await reopened.append([
            NewEvent(
                account: "a", source: "s", type: "t", entity: "new", refs: [], id: "new", payload: Array("{}".utf8))
        ])
        reopened.close()
        #expect(next.storedSeqs == [121])
    }
}

@Suite(.serialized) struct ExportCLITests {
    @Test func exportToStandardOutputOrADeviceWritesStraightThrough() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeArchive(dir)
        let query = try CLI.run(["query", "--data", dir])
        let stdout = try CLI.run(["export", "--data", dir, "--output", "-"])
        #expect(stdout.status == 0)
        #expect(stdout.stdout == query.stdout)
        let null = try CLI.run(["export", "--data", dir, "--output", "/dev/null"])
        #expect(null.status == 0, "\(null.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: "/dev/null")
        #expect(attributes[.type] as? FileAttributeType == .typeCharacterSpecial, "/dev/null is still the device")
        #expect(!FileManager.default.fileExists(atPath: "/dev/.null.hooklog-partial"))
    }

    /// Several formatting threads, chunks smaller than the archive's blocks, with and without filters:
    /// the file is byte for byte what `query` prints (in seq order, nothing twice, nothing missed).
    @Test func exportOnSeveralThreadsWritesExactlyWhatQueryPrints() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ArchiveStore.open(directory: dir)
        for batch in 0..<20 {
            _ = try await store.append(
                (0..<37).map { i in
                    NewEvent(
                        account: "a\(i % 3)", source: "s",
                        type: ["order.created", "dispatch.created", "invoice.paid"][(batch + i) % 3],
                        entity: "e\(i % 11)", refs: ["r\(batch)"], id: "\(batch)-\(i)",
                        payload: Array(
                            "{\"batch\": \(batch), \"i\": \(i), \"pad\": \"\(String(repeating: "x", count: i * 7))\"}"
                                .utf8))
                })
        }
        store.close()
        for filters in [
            [], ["--type", "order.*"], ["--entity", "e3"], ["--account", "a1", "--contains", "\"i\": 4"],
        ] {
            let query = try CLI.run(["query", "--data", dir] + filters)
            #expect(query.status == 0 && !query.stdout.isEmpty)
            for (threads, chunk) in [("1", "16384"), ("3", "7"), ("2", "1"), ("4", "64")] {
                let out = dir + "/out-\(threads)-\(chunk).ndjson"
                let run = try CLI.run(
                    ["export", "--data", dir, "--output", out, "--threads", threads, "--chunk-events", chunk] + filters)
                #expect(run.status == 0, "\(run.stderr)")
                let written = String(decoding: FileManager.default.contents(atPath: out) ?? Data(), as: UTF8.self)
                #expect(written == query.stdout, "threads \(threads), chunks of \(chunk), filters \(filters)")
            }
        }
        #expect(try CLI.run(["export", "--data", dir, "--output", "-", "--threads", "0"]).status == 2)
    }

    @Test func exportWritesTheQueryLinesPlainOrGzippedAndLeavesNoPartialFile() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeArchive(dir)
        let query = try CLI.run(["query", "--data", dir, "--ref", "MUG-01"])
        let plain = dir + "/out.ndjson"
        let gz = dir + "/out.ndjson.gz"
        #expect(try CLI.run(["export", "--data", dir, "--ref", "MUG-01", "--output", plain]).status == 0)
        #expect(String(decoding: FileManager.default.contents(atPath: plain)!, as: UTF8.self) == query.stdout)
        let exported = try CLI.run(["export", "--data", dir, "--ref", "MUG-01", "-o", gz])
        #expect(exported.status == 0 && exported.stderr.contains("exported 6 events"))
        let gzipBytes = FileManager.default.contents(atPath: gz)!
        #expect(gzipBytes.prefix(2) == Data([0x1f, 0x8b]))
        let unzip = Process()
        unzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        unzip.arguments = ["-c", "gzip -dc '\(gz)' > '\(dir)/unzipped'"]
        try unzip.run()
        unzip.waitUntilExit()
        #expect(unzip.terminationStatus == 0)
        #expect(
            String(decoding: FileManager.default.contents(atPath: dir + "/unzipped")!, as: UTF8.self) == query.stdout)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.contains("partial") })
        let failed = try CLI.run(["export", "--data", dir, "--output", dir + "/no/such/dir/x.ndjson"])
        #expect(failed.status == 1 && failed.stderr.hasPrefix("hooklog: cannot write"))
    }
}
