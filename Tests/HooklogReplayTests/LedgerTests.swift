import Foundation
import HooklogStore
import Testing

@testable import HooklogReplay

@Suite struct LedgerTests {
    /// A checkpoint path in a fresh directory, and a configuration that writes it.
    struct Setup {
        let directory = NSTemporaryDirectory() + "hooklog-ledger-\(UUID().uuidString)"
        var configuration = ReplayConfiguration(url: "http://127.0.0.1:1/hook", filter: EventFilter(account: "a"))
        var path: String { directory + "/run.ckpt" }

        init() throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            configuration.checkpoint = path
        }

        func ledger(
            _ archive: TestArchive, resume: Ledger.Resume? = nil, deadLetter: DeadLetterFile? = nil
        ) throws -> Ledger {
            Ledger(
                checkpoint: path, fingerprint: configuration.fingerprint,
                window: resume?.window
                    ?? Ledger.Window(since: configuration.filter.since, until: configuration.filter.until),
                resume: resume, deadLetter: deadLetter, snapshot: try archive.snapshot())
        }

        func load() throws -> Ledger.Resume? { try Ledger.load(path, configuration: configuration) }

        func write(_ text: String) { _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test func deliveredEventsAreSettledAndTheWatermarkFollowsTheScanOrder() async throws {
        let archive = try await TestArchive(count: 10)
        defer { archive.remove() }
        let setup = try Setup()
        defer { setup.remove() }
        let events = try archive.events()
        let ledger = try setup.ledger(archive)
        try await ledger.start()
        await ledger.issue(events.map { ($0.seq, false) })
        // Lanes finish out of order: 1, 2, then 5 and 6 before 3 and 4.
        try await ledger.settle(Array(events[0..<2]), delivered: true)
        try await ledger.settle(Array(events[4..<6]), delivered: true)
        var resume = try #require(try setup.load())
        #expect(resume.watermark == events[1].seq)
        #expect(resume.settled == Set(events[4..<6].map(\.seq)))
        #expect(!resume.complete)
        for (i, e) in events.enumerated() {
            #expect(Ledger.isSettled(e.seq, in: resume) == [0, 1, 4, 5].contains(i), "\(i)")
        }

        try await ledger.settle(Array(events[2..<4]), delivered: true)
        try await ledger.settle(Array(events[6...]), delivered: true)
        #expect(try await ledger.finish(interrupted: false))
        resume = try #require(try setup.load())
        #expect(
            resume.watermark == events.last!.seq && resume.settled.isEmpty && resume.failed.isEmpty && resume.complete)
    }

    @Test func eventsGivenUpOnAreNotSettledAndTheRunIsNotComplete() async throws {
        let archive = try await TestArchive(count: 8)
        defer { archive.remove() }
        let setup = try Setup()
        defer { setup.remove() }
        let events = try archive.events()
        let ledger = try setup.ledger(archive)
        try await ledger.start()
        await ledger.issue(events.map { ($0.seq, false) })
        try await ledger.settle(Array(events[0..<3]), delivered: true)
        try await ledger.settle(Array(events[3..<5]), delivered: false)
        try await ledger.settle(Array(events[5...]), delivered: true)
        #expect(try await ledger.finish(interrupted: false) == false, "not complete: two events were not delivered")
        let resume = try #require(try setup.load())
        #expect(!resume.complete)
        #expect(resume.watermark == events.last!.seq)
        #expect(events.filter { !Ledger.isSettled($0.seq, in: resume) }.map(\.seq) == events[3..<5].map(\.seq))
        #expect(resume.failed.ranges == [events[3].seq...events[4].seq], "failed one after another: one range")

        // The next run sends them again; delivered now, the replay is complete.
        let again = try setup.ledger(archive, resume: resume)
        try await again.start()
        await again.issue(events[3..<5].map { ($0.seq, false) })
        try await again.settle([events[3]], delivered: true)
        var middle = try #require(try setup.load())
        #expect(!Ledger.isSettled(events[4].seq, in: middle) && Ledger.isSettled(events[3].seq, in: middle))
        try await again.settle([events[4]], delivered: true)
        #expect(try await again.finish(interrupted: false))
        middle = try #require(try setup.load())
        #expect(middle.complete && middle.failed.isEmpty && events.allSatisfy { Ledger.isSettled($0.seq, in: middle) })
    }

    @Test func failedRangesStayFewWhenEverythingFailsAndNeverSpanADeliveredOrSkippedEvent() async throws {
        let archive = try await TestArchive(count: 400)
        defer { archive.remove() }
        let setup = try Setup()
        defer { setup.remove() }
        let events = try archive.events()
        let ledger = try setup.ledger(archive)
        try await ledger.start()
        // Event 100 was settled by an earlier run (skipped: not issued); 200 is delivered; the rest fail.
        let issued = events.enumerated().filter { $0.offset != 100 }.map { ($0.element.seq, $0.offset == 101) }
        await ledger.issue(issued)
        for (i, e) in events.enumerated() where i != 100 { try await ledger.settle([e], delivered: i == 200) }
        try await ledger.finish(interrupted: false)
        let resume = try #require(try setup.load())
        #expect(resume.failed.ranges.count == 3, "\(resume.failed.ranges)")
        for (i, e) in events.enumerated() {
            #expect(Ledger.isSettled(e.seq, in: resume) == (i == 100 || i == 200), "\(i)")
        }
        let size = try FileManager.default.attributesOfItem(atPath: setup.path)[.size] as! Int
        #expect(size < 600, "a checkpoint of 400 failures is a few ranges, not 400 numbers (\(size) bytes)")
    }

    @Test func theCheckpointIsReplacedAtomicallyAndReadableByItsOwnerOnly() async throws {
        let archive = try await TestArchive(count: 3)
        defer { archive.remove() }
        let setup = try Setup()
        defer { setup.remove() }
        // A leftover temporary file of a killed run, world-readable: not reused as it is.
        _ = FileManager.default.createFile(
            atPath: setup.path + ".tmp", contents: Data("junk".utf8), attributes: [.posixPermissions: 0o644])
        let dead = setup.directory + "/dead.ndjson"
        let ledger = try setup.ledger(archive, deadLetter: try DeadLetterFile(path: dead))
        try await ledger.start()
        let events = try archive.events()
        await ledger.issue(events.map { ($0.seq, false) })
        try await ledger.settle([events[0]], delivered: false)
        for path in [setup.path, dead] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! Int
            #expect(mode & 0o777 == 0o600, "\(path): \(String(mode, radix: 8))")
        }
        #expect(!FileManager.default.fileExists(atPath: setup.path + ".tmp"))
        #expect(try String(contentsOfFile: dead, encoding: .utf8).split(separator: "\n").count == 1)
    }

    @Test func aRelativeWindowIsFingerprintedAsWrittenAndKeptResolved() async throws {
        let archive = try await TestArchive(count: 3)
        defer { archive.remove() }
        var setup = try Setup()
        defer { setup.remove() }
        setup.configuration.sinceText = "30d"
        setup.configuration.filter.since = 1_000_000
        try await setup.ledger(archive).start()

        // The same command a day later resolves 30d to another time: same replay, the first run's window.
        var later = setup
        later.configuration.filter.since = 1_000_000 + 86_400_000_000
        let resume = try #require(try later.load())
        #expect(resume.window == Ledger.Window(since: 1_000_000, until: nil))

        var other = later
        other.configuration.sinceText = "7d"
        #expect(throws: ReplayError.self) { try other.load() }
    }

    @Test func aVersion1CheckpointIsStillRead() async throws {
        var setup = try Setup()
        defer { setup.remove() }
        setup.configuration.sinceText = "30d"
        setup.configuration.filter.since = 5_000_000
        // Version 1 wrote the resolved time in the fingerprint (slot 9 of 12).
        func v1(since: String) -> String {
            var parts = ["http://127.0.0.1:1/hook", "orderspace", "50", "", "a", "", "", "", "", since, "", ""]
            parts[9] = since
            var quoted: [UInt8] = []
            JSONText.appendString(parts.joined(separator: "\u{1F}"), to: &quoted)
            return
                "{\"version\":1,\"watermark\":7,\"complete\":false,\"settled\":[9],\"fingerprint\":\(String(decoding: quoted, as: UTF8.self))}\n"
        }
        setup.write(v1(since: "1000000"))
        let resume = try #require(try setup.load())
        #expect(resume.watermark == 7 && resume.settled == [9] && resume.failed.isEmpty)
        #expect(resume.window == Ledger.Window(since: 1_000_000, until: nil), "the first run's resolution of 30d")

        // An absolute --since must be the very time the checkpoint holds.
        setup.configuration.sinceText = "2026-01-01T00:00:00Z"
        #expect(throws: ReplayError.self) { try setup.load() }
        setup.configuration.filter.since = 1_000_000
        #expect(try setup.load()?.window.since == 1_000_000)
        // Another URL: another replay.
        setup.configuration.url = "http://127.0.0.1:2/hook"
        #expect(throws: ReplayError.self) { try setup.load() }
    }

    @Test func aCheckpointWithValuesThatAreNotSeqsIsRefusedWithoutATrap() throws {
        let setup = try Setup()
        defer { setup.remove() }
        let fingerprint: String = {
            var quoted: [UInt8] = []
            JSONText.appendString(setup.configuration.fingerprint, to: &quoted)
            return String(decoding: quoted, as: UTF8.self)
        }()
        func file(
            watermark: String = "3", settled: String = "[]", failed: String = "[]", version: String = "2"
        ) -> String {
            "{\"version\":\(version),\"watermark\":\(watermark),\"complete\":false,\"settled\":\(settled),\"failed\":\(failed),\"since\":null,\"until\":null,\"fingerprint\":\(fingerprint)}"
        }
        setup.write(file())
        #expect(try setup.load()?.watermark == 3)
        for bad in [
            file(watermark: "-1"), file(watermark: "1.5"), file(watermark: "1e30"),
            file(watermark: "18446744073709551615"),
            file(watermark: "\"3\""), file(settled: "[0]"), file(settled: "[-4]"), file(settled: "[1e300]"),
            file(failed: "[[5,4]]"),
            file(failed: "[[1]]"), file(failed: "[[1,\"x\"]]"), "", "[]", "{\"version\":2}",
            String(repeating: "[", count: 100_000),
        ] {
            setup.write(bad)
            #expect(throws: ReplayError.self, "\(bad.prefix(120))") { try setup.load() }
        }
        setup.write(file(version: "3"))
        let error = try #require(throws: ReplayError.self) { try setup.load() }
        #expect(error.message.contains("version 3") && error.message.contains("remove it"))
    }

    @Test func seqRangesSplitAndMerge() {
        var r = SeqRanges()
        r.insert(5...5)
        r.insert(7...9)
        r.insert(6...6)
        #expect(r.ranges == [5...9], "touching ranges merge: no seq lies between them")
        #expect((5...9).allSatisfy(r.contains) && !r.contains(4) && !r.contains(10))
        r.remove(7)
        #expect(r.ranges == [5...6, 8...9])
        r.insert(20...20)
        r.extendLast(to: 25)
        #expect(r.contains(23) && r.last == 20...25)
        r.insert(1...30)
        #expect(r.ranges == [1...30])
        r.remove(1)
        r.remove(30)
        #expect(r.ranges == [2...29])
        r.remove(UInt64.max)
        r.insert(UInt64.max...UInt64.max)
        r.remove(UInt64.max)
        r.insert(0...0)
        r.remove(0)
        #expect(r.ranges == [2...29])
    }
}

extension LedgerTests {
    @Test func lanesSettlingAtOnceAreAllInTheCheckpointWhenTheirSettleReturns() async throws {
        let archive = try await TestArchive(count: 160, entities: 8)
        defer { archive.remove() }
        let setup = try Setup()
        defer { setup.remove() }
        let events = try archive.events()
        let ledger = try setup.ledger(archive)
        try await ledger.start()
        await ledger.issue(events.map { ($0.seq, false) })
        // Eight lanes settle at once, sharing writes; each settle returns only once the file holds it.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<8 {
                let mine = events.filter { $0.lane(of: 8) == lane }
                group.addTask {
                    for e in mine {
                        try await ledger.settle([e], delivered: true)
                        let resume = try #require(try setup.load())
                        #expect(
                            Ledger.isSettled(e.seq, in: resume), "seq \(e.seq) in the file when its settle returned")
                    }
                }
            }
            try await group.waitForAll()
        }
        let resume = try #require(try setup.load())
        #expect(resume.watermark == events.last!.seq && resume.settled.isEmpty)
    }
}
