import Foundation
import Testing

@testable import HooklogStore

/// `count` one-event batches over 40 orders, of varying sizes: small chained frames, what light
/// traffic writes.
func lightTraffic(_ count: Int) -> [[NewEvent]] {
    (0..<count).map { i in orderEvents(order: i % 40, count: 1, padding: 20 + i % 50) }
}

@Suite struct StoreTests {
    @Test func fixturePayloadsComeBackByteForByteWithGapFreeSeqs() async throws {
        let dir = TempDirectory()
        let store = try ArchiveStore.open(directory: dir.path)
        var appended: [(String, [UInt8])] = []
        for (name, body) in try Fixtures.goodBodies() {
            let event = NewEvent(
                account: "default", source: "test", type: name, entity: name, refs: [], id: nil, payload: body)
            let result = try await store.append([event])
            #expect(result.storedSeqs == [UInt64(appended.count + 1)])
            appended.append((name, body))
        }
        let events = try store.reader().snapshot().events()
        #expect(events.map(\.seq) == Array(1...UInt64(appended.count)))
        #expect(events.map(\.payload) == appended.map(\.1))
        #expect(events.map(\.type) == appended.map(\.0))
        // Receipt times are non-decreasing, in µs.
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.receivedAtMicros <= $1.receivedAtMicros })
        store.close()
    }

    @Test func redeliveredEventIDsAreStoredOnceAcrossRestarts() async throws {
        let dir = TempDirectory()
        let original = try Fixtures.bytes("o2vend/order-create.json")
        let redelivery = try Fixtures.bytes("o2vend/order-create-redelivery.json")
        func event(_ payload: [UInt8], account: String = "shop") -> NewEvent {
            NewEvent(
                account: account, source: "o2vend", type: "Order.Create", entity: "90417", refs: ["5521"],
                id: "5b0f6c1e-8d2a-4c7e-9a43-2f1d7b6e9c01", payload: payload)
        }
        var store = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 2 << 10))
        #expect(try await store.append([event(original)]).outcomes == [.stored(1)])
        #expect(try await store.append([event(redelivery)]).outcomes == [.duplicate(1)])
        // The same ID under another account is another event.
        #expect(try await store.append([event(original, account: "other")]).outcomes == [.stored(2)])
        // Two copies inside one request: the second is the first's duplicate.
        var copy = event(original)
        copy.id = "fresh"
        #expect(try await store.append([copy, copy]).outcomes == [.stored(3), .duplicate(3)])
        // Push the first event into a sealed segment, then restart.
        for i in 0..<60 { _ = try await store.append(orderEvents(order: i, count: 2)) }
        store.close()
        store = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 2 << 10))
        #expect(dir.indexFiles().count > 1)
        #expect(try await store.append([event(redelivery)]).outcomes == [.duplicate(1)])
        store.close()
    }

    @Test func retriedRequestBodiesAreStoredOnceWithinTheWindow() async throws {
        let dir = TempDirectory()
        let store = try ArchiveStore.open(directory: dir.path)
        let events = orderEvents(order: 1, count: 3)
        let digest: [UInt8] = Array(repeating: 7, count: 32)
        let first = try await store.append(AppendRequest(events: events, bodyDigest: digest))
        #expect(first.outcomes == [.stored(1), .stored(2), .stored(3)])
        let retry = try await store.append(AppendRequest(events: events, bodyDigest: digest))
        #expect(retry.outcomes == [.duplicate(1), .duplicate(2), .duplicate(3)])
        // Outside the window (zero seconds) it is new again.
        let late = try await store.append(AppendRequest(events: events, bodyDigest: digest, dedupeWindow: .seconds(0)))
        #expect(late.storedSeqs == [4, 5, 6])
        // Without a digest nothing is deduplicated.
        #expect(try await store.append(events).storedSeqs == [7, 8, 9])
        store.close()
    }

    @Test func indexesFindAnEntitysWholeStoryAcrossSealedAndActiveSegments() async throws {
        let dir = TempDirectory()
        let store = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 2 << 10))
        var all: [NewEvent] = []
        for round in 0..<6 {
            for order in 0..<20 {
                let life = orderEvents(order: order, count: 4, account: order % 2 == 0 ? "even" : "odd")
                let batch = Array(life[(round % 4)...])
                _ = try await store.append(batch)
                all += batch
            }
        }
        #expect(dir.segmentFiles().count > 3)
        func check(_ snapshot: ArchiveSnapshot) throws {
            let events = try snapshot.events()
            #expect(events.count == all.count)
            #expect(events.map(\.payload) == all.map { Array($0.payload) })
            let byEntity = try snapshot.events(matching: EventFilter(entity: "or_3"))
            #expect(byEntity.map(\.payload) == all.filter { $0.entity == "or_3" }.map { Array($0.payload) })
            let story = try snapshot.events(matching: EventFilter(ref: "or_3"))
            #expect(
                story.map(\.payload)
                    == all.filter { $0.entity == "or_3" || $0.refs.contains("or_3") }.map { Array($0.payload) })
            #expect(story.count > byEntity.count)
            let sku = try snapshot.events(matching: EventFilter(account: "odd", ref: "SKU-2"))
            #expect(
                sku.map(\.payload)
                    == all.filter { $0.account == "odd" && ($0.refs.contains("SKU-2") || $0.entity == "SKU-2") }.map {
                        Array($0.payload)
                    })
            let glob = try snapshot.events(matching: EventFilter(type: "*.created", entity: "or_5"))
            #expect(
                glob.map(\.payload)
                    == all.filter { $0.entity == "or_5" && $0.type.hasSuffix(".created") }.map { Array($0.payload) })
            let newest = try snapshot.events(matching: EventFilter(account: "even"), reverse: true, limit: 5)
            #expect(
                newest.map(\.payload)
                    == all.filter { $0.account == "even" }.suffix(5).reversed().map { Array($0.payload) })
            #expect(try snapshot.events(matching: EventFilter(entity: "nobody")).isEmpty)
            let contains = try snapshot.events(matching: EventFilter(contains: Array("\"n\":3,".utf8)))
            #expect(
                contains.count == all.filter { String(decoding: $0.payload, as: UTF8.self).contains("\"n\":3,") }.count)
            #expect(
                snapshot.counts(of: .account) == [
                    "even": all.filter { $0.account == "even" }.count, "odd": all.filter { $0.account == "odd" }.count,
                ])
        }
        try check(try store.reader().snapshot())
        // The in-place views see exactly what the copies see.
        var viewed: [StoredEvent] = []
        try store.reader().snapshot().forEachView(matching: EventFilter(ref: "SKU-3"), reverse: true) { view in
            #expect(
                view.withPayload { Array($0) } == view.event.payload && view.payloadCount == view.event.payload.count)
            #expect(view.type == view.event.type && view.refs == view.event.refs && view.entity == view.event.entity)
            viewed.append(view.event)
            return true
        }
        #expect(viewed == (try store.reader().snapshot().events(matching: EventFilter(ref: "SKU-3"), reverse: true)))
        #expect(!viewed.isEmpty)
        store.close()
        // From index files and a fresh scan of the active segment, as another process would.
        try check(try ArchiveReader(directory: dir.path).snapshot())
        // Without any index file: everything is rebuilt from the log.
        for f in dir.indexFiles() { try FileManager.default.removeItem(atPath: f) }
        try check(try ArchiveReader(directory: dir.path).snapshot())
        // Reopening the writer writes them again.
        let reopened = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 2 << 10))
        #expect(dir.indexFiles().count == dir.segmentFiles().count - 1)
        reopened.close()
        try check(try ArchiveReader(directory: dir.path).snapshot())
    }

    @Test func timeFiltersSelectByReceiptTime() async throws {
        let dir = TempDirectory()
        let store = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 2 << 10))
        _ = try await store.append(orderEvents(order: 1, count: 10))
        try await Task.sleep(for: .milliseconds(20))
        let cut = currentMicros()
        try await Task.sleep(for: .milliseconds(20))
        _ = try await store.append(orderEvents(order: 2, count: 10))
        let snapshot = try store.reader().snapshot()
        #expect(try snapshot.events(matching: EventFilter(since: cut)).map(\.seq) == Array(11...20))
        #expect(try snapshot.events(matching: EventFilter(until: cut)).map(\.seq) == Array(1...10))
        #expect(try snapshot.events(matching: EventFilter(entity: "or_2", until: cut)).isEmpty)
        store.close()
    }

    @Test func aSecondWriterIsRefusedWithAClearError() throws {
        let dir = TempDirectory()
        let store = try ArchiveStore.open(directory: dir.path)
        #expect {
            _ = try ArchiveStore.open(directory: dir.path)
        } throws: { error in
            guard let e = error as? StoreError else { return false }
            return e.code == .locked && e.message.contains("another hooklog process") && e.message.contains("--data")
        }
        store.close()
        let again = try ArchiveStore.open(directory: dir.path)
        again.close()
    }

    /// A writer whose open fails (here: the directory is locked by another) must not leave its threads
    /// behind. fuzz-segment found four threads left per failed open, until the process ran out of memory
    /// mappings.
    @Test func aFailedOpenLeavesNoThreadBehind() async throws {
        #if os(Linux)
        func writerThreads() -> Int {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            return tasks.filter { id in
                let name = (try? String(contentsOfFile: "/proc/self/task/\(id)/comm", encoding: .utf8)) ?? ""
                return name.hasPrefix("hooklog-")
            }.count
        }
        let dir = TempDirectory()
        let store = try ArchiveStore.open(directory: dir.path, options: smallOptions())
        let before = writerThreads()
        // 200 failures: a leak shows as ~200 more threads; other tests running meanwhile open stores
        // of their own (a few threads each), hence the margin below.
        for _ in 0..<200 {
            #expect(throws: StoreError.self) { _ = try ArchiveStore.open(directory: dir.path, options: smallOptions()) }
        }
        // The threads stop on their own once their owner is gone: give them a moment.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while writerThreads() > before + 100 && clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(writerThreads() <= before + 100, "\(writerThreads()) writer threads, \(before) before the failed opens")
        store.close()
        #endif
    }

    @Test func readerOnAMissingDirectorySaysWhatToDo() {
        #expect {
            _ = try ArchiveReader(directory: "/nonexistent/hooklog-data")
        } throws: { error in
            (error as? StoreError)?.code == .notFound && "\(error)".contains("--data")
        }
    }

    @Test func retentionDeletesWholeOldSegmentsOnly() async throws {
        let dir = TempDirectory()
        var options = smallOptions()
        // Sealed segments are recompressed to about 4 KB each here: a limit of two of them.
        options.maxBytes = 8 << 10
        let store = try ArchiveStore.open(directory: dir.path, options: options)
        for i in 0..<200 { _ = try await store.append(orderEvents(order: i, count: 2)) }
        _ = try await store.applyRetention()
        let snapshot = try store.reader().snapshot()
        let events = try snapshot.events()
        #expect(snapshot.firstSeq > 1)
        #expect(events.first?.seq == snapshot.firstSeq && events.last?.seq == 400)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.seq + 1 == $1.seq })
        // The sealed segments fit the limit, give or take the one that pushed it over (the active one
        // holds zeros written ahead, so it is not counted here).
        let sealed = dir.segmentFiles().dropLast().reduce(UInt64(0)) { $0 + (FileSystem.fileSize($1) ?? 0) }
        #expect(sealed <= 8 << 10 + UInt64(smallOptions().segmentSize) * 2)
        store.close()
    }

    @Test func sealedSegmentsAreRecompressedWithoutChangingAnEvent() async throws {
        func build(recompress: Bool) async throws -> (TempDirectory, [StoredEvent]) {
            let dir = TempDirectory()
            var options = smallOptions(segmentSize: 16 << 10, blockSize: 4 << 10)
            options.recompressSealed = recompress
            // One event per commit: small chained frames, what light traffic writes.
            try await append(lightTraffic(300), to: dir, options: options)
            return (dir, try ArchiveReader(directory: dir.path).snapshot().events())
        }
        let (fast, fastEvents) = try await build(recompress: false)
        let (hc, hcEvents) = try await build(recompress: true)
        #expect(hcEvents.map(\.payload) == fastEvents.map(\.payload))
        #expect(hcEvents.map(\.seq) == fastEvents.map(\.seq))
        let sealedFast = fast.segmentFiles().dropLast()
        let sealedHC = hc.segmentFiles().dropLast()
        try #require(!sealedHC.isEmpty)
        func bytes(_ files: ArraySlice<String>) -> UInt64 { files.reduce(0) { $0 + (FileSystem.fileSize($1) ?? 0) } }
        #expect(bytes(sealedHC) < bytes(sealedFast))
        for path in sealedHC {
            // Format version 2: the dictionary section, then one frame a block, each against the dictionary.
            let bytes = read(path)
            let header = try FileHeader.decode(Array(bytes.prefix(FileHeader.size)), kind: .segment, path: path)
            #expect(header.version == FileHeader.dictionarySegmentVersion)
            let layout = try SegmentDictionary.layout(file: RawFile(path: path, flags: O_RDONLY), header: header)
            let dictionary = try #require(layout.dictionary)
            #expect(layout.framesStart == UInt64(FileHeader.size) + header.extra[0])
            #expect(dictionary.count <= SegmentDictionary.maxLength && !dictionary.isEmpty)
            let scan = SegmentScanner.scan(
                Array(bytes[Int(layout.framesStart)...]), fileOffset: layout.framesStart,
                expectedSeq: SegmentName.baseSeq(ofLog: String(path.split(separator: "/").last!))!, blockStart: nil,
                resync: false, path: path)
            #expect(scan.tailLength == 0 && !scan.frames.isEmpty)
            #expect(scan.frames.allSatisfy { $0.header.startsBlock && $0.header.usesDictionary })
        }
        let report = try ArchiveCheck.run(directory: hc.path, repair: false)
        #expect(report.isClean, "\(report.problems)")
        #expect(
            try ArchiveReader(directory: hc.path).snapshot().events(matching: EventFilter(ref: "or_7")).count
                == fastEvents.filter { $0.entity == "or_7" || $0.refs.contains("or_7") }.count)
    }

    /// While ingest is busy (here: any append in the last second counts), sealed segments stay fast LZ4;
    /// once it is quiet they are recompressed, every event unchanged.
    @Test func recompressionWaitsWhileIngestIsBusy() async throws {
        var options = smallOptions(segmentSize: 8 << 10, blockSize: 2 << 10)
        options.recompressionYieldsAbove = 1
        // What is tested is when recompression runs, not durability: without `fdatasync`, a disk that
        // other suites keep busy cannot hold an append up for a second.
        options.durable = false
        let clock = ContinuousClock()
        // A batch every 10 ms until four segments are sealed: ingest stays busy throughout, provided no two
        // commits are a second apart. On a loaded machine (other suites run at the same time) this task
        // can be held up for longer, and then ingest really was quiet for a moment and recompression was
        // right to run: such a run proves nothing either way, and is done again (five tries). A commit
        // lies between its append's start and its answer, so no answer 0.9 s or more after the previous
        // append's start means no two commits a second apart.
        let tries = 5
        var attempt = 0
        while true {
            attempt += 1
            let dir = TempDirectory()
            let store = try ArchiveStore.open(directory: dir.path, options: options)
            func fastLZ4() -> Int {
                dir.segmentFiles().dropLast().filter { log in
                    guard let index = try? IndexFile(path: String(log.dropLast(4)) + ".idx", segmentPath: log) else {
                        return true
                    }
                    return index.frames.contains { !$0.header.startsBlock }
                }.count
            }
            let giveUp = clock.now + .seconds(60)
            var order = 0
            var previousStart: ContinuousClock.Instant? = nil
            var longest = Duration.zero
            while dir.segmentFiles().count - 1 < 4 && clock.now < giveUp {
                let start = clock.now
                _ = try await store.append(orderEvents(order: order, count: 4, padding: 40))
                if let previousStart { longest = max(longest, clock.now - previousStart) }
                previousStart = start
                order += 1
                try await Task.sleep(for: .milliseconds(10))
            }
            let sealed = dir.segmentFiles().count - 1
            try #require(sealed >= 4)
            let stillFast = fastLZ4()
            if let previousStart { longest = max(longest, clock.now - previousStart) }
            if longest >= .milliseconds(900) {
                store.close()
                try #require(
                    attempt < tries,
                    "ingest could not be kept busy: \(longest) between commits, in each of \(tries) tries")
                continue
            }
            #expect(stillFast >= sealed - 1, "recompressed while ingest was busy")
            let deadline = clock.now + .seconds(60)
            while fastLZ4() > 0 && clock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(fastLZ4() == 0, "recompressed once ingest was quiet")
            #expect(try store.reader().snapshot().events().count == order * 4)
            store.close()
            break
        }
        let load = IngestLoad(busyAbove: 100)
        load.record(60, now: 5_000_000)
        #expect(!load.isBusy(now: 5_100_000))
        load.record(40, now: 5_900_000)
        #expect(load.isBusy(now: 5_950_000))
        #expect(load.isBusy(now: 6_500_000), "the last whole second counts")
        #expect(!load.isBusy(now: 7_000_001))
        load.record(500, now: 7_000_002)
        load.close()
        #expect(!load.isBusy(now: 7_000_003), "closing: nothing waits")
    }

    /// Sealed segments still fast LZ4 (chained frames) after a run that did not recompress them (a
    /// backlog, a stop, an older build) are recompressed in the background when the store is next opened,
    /// newest first, every event unchanged; meanwhile retention never brings a deleted segment back.
    /// A close that finishes recompression (`finishesRecompressionOnClose`: tests, and the benchmark
    /// archive built at rest) finishes the catch-up of segments left fast LZ4 too, not just its first step.
    @Test func aCloseThatFinishesRecompressionFinishesTheCatchUp() async throws {
        let dir = TempDirectory()
        var options = smallOptions(segmentSize: 8 << 10, blockSize: 2 << 10)
        options.recompressSealed = false
        try await append(lightTraffic(400), to: dir, options: options)
        func fastLZ4() -> Int {
            dir.segmentFiles().dropLast().filter { log in
                (try? FileHeader.decode(Array(read(log).prefix(FileHeader.size)), kind: .segment, path: log))?.version
                    != FileHeader.dictionarySegmentVersion
            }.count
        }
        try #require(fastLZ4() >= 4)
        let before = try ArchiveReader(directory: dir.path).snapshot().events()
        options.recompressSealed = true
        options.finishesRecompressionOnClose = true
        try ArchiveStore.open(directory: dir.path, options: options).close()
        #expect(fastLZ4() == 0)
        #expect(try ArchiveReader(directory: dir.path).snapshot().events() == before)
        #expect(try ArchiveCheck.run(directory: dir.path, repair: false).isClean)
    }

    @Test func segmentsLeftFastLZ4AreRecompressedWhenTheStoreIsNextOpened() async throws {
        let dir = TempDirectory()
        var options = smallOptions(segmentSize: 8 << 10, blockSize: 2 << 10)
        options.recompressSealed = false
        try await append(lightTraffic(400), to: dir, options: options)
        let before = try ArchiveReader(directory: dir.path).snapshot().events()
        /// Sealed segments with a frame that continues a block (or no index yet: being rewritten).
        func fastLZ4() -> Int {
            dir.segmentFiles().dropLast().filter { log in
                guard let index = try? IndexFile(path: String(log.dropLast(4)) + ".idx", segmentPath: log) else {
                    return true
                }
                return index.frames.contains { !$0.header.startsBlock }
            }.count
        }
        func bytes() -> UInt64 { dir.segmentFiles().dropLast().reduce(0) { $0 + (FileSystem.fileSize($1) ?? 0) } }
        let fastBefore = fastLZ4()
        let bytesBefore = bytes()
        try #require(fastBefore >= 4)

        options.recompressSealed = true
        let reopened = try ArchiveStore.open(directory: dir.path, options: options)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while fastLZ4() > 0 && clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(fastLZ4() == 0)
        #expect(bytes() < bytesBefore)
        #expect(try reopened.reader().snapshot().events() == before)
        reopened.close()
        #expect(try ArchiveCheck.run(directory: dir.path, repair: false).isClean)

        // Catch-up and retention at once: a segment retention removed never comes back.
        let again = TempDirectory()
        options.recompressSealed = false
        try await append(lightTraffic(400), to: again, options: options)
        options.recompressSealed = true
        options.maxBytes = 16 << 10
        let trimmed = try ArchiveStore.open(directory: again.path, options: options)
        var seen = Set(again.segmentFiles())
        var removed: Set<String> = []
        for i in 0..<200 {
            _ = try await trimmed.append(orderEvents(order: 1000 + i, count: 1, padding: 20))
            let now = Set(again.segmentFiles())
            removed.formUnion(seen.subtracting(now))
            seen.formUnion(now)
            #expect(removed.isDisjoint(with: now), "a removed segment came back")
        }
        #expect(!removed.isEmpty)
        _ = try await trimmed.applyRetention()
        let snapshot = try trimmed.reader().snapshot()
        let kept = try snapshot.events()
        #expect(kept.last?.seq == 600 && kept.first?.seq == snapshot.firstSeq)
        #expect(zip(kept, kept.dropFirst()).allSatisfy { $0.seq + 1 == $1.seq })
        trimmed.close()
        #expect(try ArchiveCheck.run(directory: again.path, repair: false).isClean)
    }

    @Test func aCleanCloseLeavesACheckpointIndexThatReadersExtend() async throws {
        let dir = TempDirectory()
        let options = smallOptions(segmentSize: 1 << 20)
        var store = try ArchiveStore.open(directory: dir.path, options: options)
        for i in 0..<50 { _ = try await store.append(orderEvents(order: i % 10, count: 2)) }
        store.close()
        #expect(dir.segmentFiles().count == 1 && dir.indexFiles().count == 1)  // the checkpoint
        let first = try ArchiveReader(directory: dir.path).snapshot()
        #expect(first.segmentCount == 1 && first.eventCount == 100)
        func story(_ events: [StoredEvent]) -> [UInt64] {
            events.filter { $0.entity == "or_3" || $0.refs.contains("or_3") }.map(\.seq)
        }
        #expect(try first.events(matching: EventFilter(ref: "or_3")).map(\.seq) == story(try first.events()))
        // Reopen and append: readers take the checkpoint for the prefix and index only the rest.
        store = try ArchiveStore.open(directory: dir.path, options: options)
        for i in 0..<10 { _ = try await store.append(orderEvents(order: i, count: 4)) }
        let live = try ArchiveReader(directory: dir.path).snapshot()
        #expect(live.segmentCount == 2 && live.eventCount == 140)
        let all = try live.events()
        #expect(all.map(\.seq) == Array(1...140))
        #expect(try live.events(matching: EventFilter(ref: "or_3")).map(\.seq) == story(all))
        #expect(story(all).contains { $0 > 100 } && story(all).contains { $0 <= 100 })
        #expect(
            try live.events(matching: EventFilter(ref: "or_3"), reverse: true, limit: 3).map(\.seq)
                == Array(story(all).suffix(3).reversed()))
        store.close()
        let after = try ArchiveReader(directory: dir.path).snapshot()
        #expect(after.eventCount == 140)
        #expect(try after.events(matching: EventFilter(ref: "or_3")).map(\.seq) == story(all))
        #expect(try ArchiveCheck.run(directory: dir.path, repair: false).isClean)
    }

    @Test func retentionByAgeKeepsTheActiveSegment() async throws {
        let dir = TempDirectory()
        var options = smallOptions(segmentSize: 2 << 10)
        let store = try ArchiveStore.open(directory: dir.path, options: options)
        for i in 0..<60 { _ = try await store.append(orderEvents(order: i, count: 2)) }
        #expect(try await store.applyRetention().isEmpty)  // no limits set: nothing goes
        store.close()
        options.maxAge = .seconds(0)
        let aged = try ArchiveStore.open(directory: dir.path, options: options)
        let deleted = try await aged.applyRetention()
        #expect(!deleted.isEmpty)
        #expect(dir.segmentFiles().count == 1)  // only the active segment is left
        // ...with at most its checkpoint index from the last clean close.
        #expect(dir.indexFiles().allSatisfy { $0.dropLast(4) == dir.segmentFiles()[0].dropLast(4) })
        let snapshot = try aged.reader().snapshot()
        #expect(try snapshot.events().map(\.seq) == Array(snapshot.firstSeq..<121))
        // Appending goes on with the next seq.
        #expect(try await aged.append(orderEvents(order: 1, count: 1)).storedSeqs == [121])
        aged.close()
    }

    @Test func concurrentAppendersAndReadersSeeEveryAcknowledgedEvent() async throws {
        let dir = TempDirectory()
        let store = try ArchiveStore.open(
            directory: dir.path, options: smallOptions(segmentSize: 64 << 10, blockSize: 8 << 10))
        let reader = try store.reader()
        let path = dir.path
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for round in 0..<40 {
                        let events = orderEvents(order: writer * 1000 + round, count: 1 + round % 5, padding: 50)
                        let result = try await store.append(events)
                        #expect(result.storedSeqs.count == events.count)
                        // Acknowledged means visible to a new snapshot, with these exact bytes.
                        let snapshot = try reader.snapshot()
                        for (seq, event) in zip(result.storedSeqs, events) {
                            #expect(try snapshot.event(seq: seq)?.payload == Array(event.payload))
                        }
                    }
                }
            }
            for _ in 0..<2 {
                group.addTask {
                    var last: UInt64 = 0
                    for _ in 0..<30 {
                        let snapshot = try ArchiveReader(directory: path).snapshot()
                        let events = try snapshot.events()
                        #expect(events.map(\.seq) == Array(1..<UInt64(events.count + 1)))
                        #expect(snapshot.endSeq >= last)
                        last = snapshot.endSeq
                    }
                }
            }
            try await group.waitForAll()
        }
        let all = try reader.snapshot().events()
        let perWriter: Int = (0..<40).reduce(0) { (sum: Int, round: Int) in sum + 1 + round % 5 }
        #expect(all.count == perWriter * 8)
        store.close()
    }
}

@Suite struct SeqWindowTests {
    @Test("afterSeq and beforeSeq with index filters give exactly the unwindowed matches inside the window")
    func windowsAgreeWithFiltering() async throws {
        let dir = TempDirectory()
        let store = try ArchiveStore.open(
            directory: dir.path, options: smallOptions(segmentSize: 16 << 10, blockSize: 4 << 10))
        for i in 0..<120 { _ = try await store.append(orderEvents(order: i % 7, count: 3, padding: 30)) }
        store.close()
        let snapshot = try ArchiveReader(directory: dir.path).snapshot()
        let base = EventFilter(entity: "or_3")
        let all = try snapshot.events(matching: base).map(\.seq)
        #expect(all.count > 20)
        for _ in 0..<50 {
            let a = UInt64.random(in: 0...380), b = UInt64.random(in: 0...380)
            var windowed = base
            windowed.afterSeq = min(a, b)
            windowed.beforeSeq = max(a, b)
            let got = try snapshot.events(matching: windowed).map(\.seq)
            #expect(got == all.filter { $0 > min(a, b) && $0 < max(a, b) })
        }
    }
}
