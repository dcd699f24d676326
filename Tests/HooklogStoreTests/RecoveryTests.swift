import Foundation
import Testing

@testable import HooklogStore

@Suite struct RecoveryTests {
    /// Copies every file of a data directory, as a crash would leave it (the writer still open).
    func crashCopy(of dir: TempDirectory) -> TempDirectory {
        let copy = TempDirectory()
        try! FileManager.default.createDirectory(atPath: copy.logDirectory, withIntermediateDirectories: true)
        for name in try! FileManager.default.contentsOfDirectory(atPath: dir.logDirectory) {
            write(read(dir.logDirectory + "/" + name), to: copy.logDirectory + "/" + name)
        }
        return copy
    }

    /// The zeros ahead of the active segment's last frame are written in the background, a chunk ahead
    /// (`Preallocator`): across several chunks and a segment roll, every acknowledged event is durable and
    /// readable after a crash (a copy taken while the writer runs), the bytes past the last frame are all
    /// zeros, and a clean close cuts them off.
    @Test func zerosAheadOfTheLogAreWrittenInTheBackgroundAndCutOnClose() async throws {
        let dir = TempDirectory()
        var options = smallOptions(segmentSize: 9 << 20, blockSize: 64 << 10)
        options.recompressSealed = false
        let store = try ArchiveStore.open(directory: dir.path, options: options)
        var rng = SystemRandomNumberGenerator()
        var count = 0
        var sizes: Set<UInt64> = []
        // Random base64 does not compress under LZ4: ~14 MB of log, so three 4 MB chunks and a roll.
        for batch in 0..<300 {
            let events = (0..<20).map { i in
                let noise = Data((0..<225).flatMap { _ in withUnsafeBytes(of: rng.next()) { Array($0) } })
                    .base64EncodedString()
                return NewEvent(
                    account: "a", source: "s", type: "t", entity: "e\(batch)-\(i)", refs: [], id: "\(batch)-\(i)",
                    payload: Array("{\"x\":\"\(noise)\"}".utf8))
            }
            _ = try await store.append(events)
            count += events.count
            if let active = dir.segmentFiles().last { sizes.insert(UInt64(read(active).count)) }
        }
        #expect(dir.segmentFiles().count >= 2)
        #expect(sizes.count >= 2, "the active file grew by chunks")
        let crashed = crashCopy(of: dir)
        store.close()
        // After a clean close the active segment ends at its last frame.
        let active = dir.segmentFiles().last!
        let closedFrames = frames(of: active)
        #expect(UInt64(read(active).count) == closedFrames.last!.end)
        #expect(try ArchiveReader(directory: dir.path).snapshot().events().count == count)
        // The crash copy: whatever lies past the last frame is zeros, and every event is there.
        let crashedActive = crashed.segmentFiles().last!
        let bytes = read(crashedActive)
        let end = Int(frames(of: crashedActive).last!.end)
        #expect(bytes.count >= end && !bytes[end...].contains { $0 != 0 })
        let reopened = try ArchiveStore.open(directory: crashed.path, options: options)
        #expect(try reopened.reader().snapshot().events().count == count)
        #expect(reopened.recoveryNotes.isEmpty, "\(reopened.recoveryNotes)")
        reopened.close()
    }

    @Test func aTornTailAtEveryByteOfTheLastBlockIsCutAndNothingBeforeTheCutIsLost() async throws {
        let dir = TempDirectory()
        // Small blocks so the last block holds several frames (one per commit).
        let options = smallOptions(segmentSize: 1 << 20, blockSize: 1 << 10)
        let store = try ArchiveStore.open(directory: dir.path, options: options)
        var payloads: [[UInt8]] = []
        for i in 0..<12 {
            let events = orderEvents(order: i, count: 2, padding: 40)
            _ = try await store.append(events)
            payloads += events.map { Array($0.payload) }
        }
        let path = dir.segmentFiles().last!
        let all = frames(of: path)
        let lastBlock = all.filter { $0.blockStart == all.last!.blockStart }
        #expect(lastBlock.count >= 2)
        let crashed = crashCopy(of: dir)
        store.close()
        let file = read(crashed.segmentFiles().last!)
        // Past the last frame the writer has written zeros ahead (preallocation).
        #expect(file.count > Int(all.last!.end) && !file[Int(all.last!.end)...].contains { $0 != 0 })
        let full = Array(file[..<Int(all.last!.end)])
        for cut in Int(lastBlock[0].offset)..<full.count {
            let copy = crashCopy(of: crashed)
            // Even cuts: the file ends mid-frame. Odd cuts: a torn write into preallocated space, the
            // rest of the file still zeros.
            let torn = cut % 2 == 0 ? Array(full[..<cut]) : Array(full[..<cut]) + [UInt8](repeating: 0, count: 4096)
            write(torn, to: copy.segmentFiles().last!)
            let reopened = try ArchiveStore.open(directory: copy.path, options: options)
            // Whole frames before the cut survive; the frame the cut went through is gone.
            let kept = all.filter { $0.end <= UInt64(cut) }
            let keptEvents = kept.last.map { Int($0.endSeq - 1) } ?? 0
            let isFrameBoundary = all.contains { $0.end == UInt64(cut) } || cut == Int(all[0].offset)
            #expect(isFrameBoundary || reopened.recoveryNotes.contains { $0.contains("cut an interrupted write") })
            let events = try reopened.reader().snapshot().events()
            #expect(events.map(\.payload) == Array(payloads[..<keptEvents]), "cut at \(cut)")
            // The archive goes on from the last whole frame, gap-free.
            let next = try await reopened.append(orderEvents(order: 99, count: 1))
            #expect(next.storedSeqs == [UInt64(keptEvents + 1)])
            reopened.close()
            #expect(try ArchiveReader(directory: copy.path).snapshot().events().count == keptEvents + 1)
        }
    }

    @Test func aCrashCopyHoldsEveryAcknowledgedEvent() async throws {
        let dir = TempDirectory()
        let store = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 16 << 10))
        var acknowledged: [UInt64: [UInt8]] = [:]
        try await withThrowingTaskGroup(of: [(UInt64, [UInt8])].self) { group in
            for w in 0..<4 {
                group.addTask {
                    var mine: [(UInt64, [UInt8])] = []
                    for r in 0..<25 {
                        let events = orderEvents(order: w * 100 + r, count: 1 + r % 3, padding: 30)
                        let result = try await store.append(events)
                        mine += zip(result.storedSeqs, events.map { Array($0.payload) }).map { ($0, $1) }
                    }
                    return mine
                }
            }
            for try await mine in group { for (s, p) in mine { acknowledged[s] = p } }
        }
        // The process "dies" here: nothing closed, the files as they are.
        let crashed = crashCopy(of: dir)
        let reopened = try ArchiveStore.open(directory: crashed.path, options: smallOptions(segmentSize: 16 << 10))
        let events = try reopened.reader().snapshot().events()
        #expect(events.count == acknowledged.count)
        for e in events { #expect(acknowledged[e.seq] == e.payload) }
        reopened.close()
        store.close()
    }

    /// 240 events in 4 KB segments of 2 KB blocks, closed: the directory, its options and the payloads.
    func sealedArchive() async throws -> (TempDirectory, StoreOptions, [[UInt8]]) {
        let dir = TempDirectory()
        let options = smallOptions(segmentSize: 4 << 10, blockSize: 2 << 10)
        let store = try ArchiveStore.open(directory: dir.path, options: options)
        var all: [[UInt8]] = []
        for i in 0..<120 {
            let events = orderEvents(order: i, count: 2, padding: 60)
            _ = try await store.append(events)
            all += events.map { Array($0.payload) }
        }
        store.close()
        return (dir, options, all)
    }

    /// A sealed segment's 64-byte file header only names the file: damage there (a flipped bit, or the
    /// file cut to nothing) is reported at offset 0, and every frame after it is still served; the archive
    /// stays open for reading and writing either way.
    @Test func aDamagedOrEmptiedSealedSegmentHeaderIsReportedAndTheRestIsServed() async throws {
        let (dir, options, all) = try await sealedArchive()
        let segments = dir.segmentFiles()
        try #require(segments.count >= 4)
        // Segments are named by their first seq.
        let bases = segments.map { Int(SegmentName.baseSeq(ofLog: URL(fileURLWithPath: $0).lastPathComponent)!) }
        let (firstCount, emptiedCount) = (bases[1] - bases[0], bases[2] - bases[1])
        try #require(firstCount > 0 && emptiedCount > 0)
        for f in dir.indexFiles() { try FileManager.default.removeItem(atPath: f) }
        // A bit flipped in the first segment's header: nothing lost.
        var bytes = read(segments[0])
        bytes[20] ^= 0x04
        write(bytes, to: segments[0])
        // The second segment cut to nothing: its events are lost, no others.
        write([], to: segments[1])

        let reopened = try ArchiveStore.open(directory: dir.path, options: options)
        for path in [segments[0], segments[1]] {
            #expect(
                reopened.recoveryNotes.contains {
                    $0.contains(path) && $0.contains("offset 0") && $0.contains("header")
                })
        }
        let events = try reopened.reader().snapshot().events()
        let expected = Array(all[..<firstCount]) + Array(all[(firstCount + emptiedCount)...])
        #expect(
            events.count == expected.count && events.map(\.payload) == expected,
            "\(events.count) events; \(reopened.recoveryNotes)")
        #expect(try await reopened.append(orderEvents(order: 1000, count: 1)).storedSeqs == [UInt64(all.count + 1)])
        reopened.close()
        // Another process reads the same, through the index files the writer wrote.
        #expect(try ArchiveReader(directory: dir.path).snapshot().events().count == all.count - emptiedCount + 1)
    }

    @Test func aFlippedBitInASealedSegmentCostsAtMostOneBlockAndIsReportedWithItsPosition() async throws {
        let (dir, options, all) = try await sealedArchive()
        try #require(dir.indexFiles().count >= 1)
        let sealedPath = dir.segmentFiles()[0]
        let sealedFrames = frames(of: sealedPath)
        let victim = sealedFrames[sealedFrames.count / 2]
        var bytes = read(sealedPath)
        let flipAt = Int(victim.offset) + FrameHeader.size + 3
        bytes[flipAt] ^= 0x10
        write(bytes, to: sealedPath)

        // Through the existing index file: the read notices, reports and skips.
        var reported: [StoreError] = []
        var seen: [[UInt8]] = []
        try ArchiveReader(directory: dir.path).snapshot().forEach(
            matching: EventFilter(), onDamage: { reported.append($0) }
        ) {
            seen.append($0.payload)
            return true
        }
        #expect(reported.count == 1)
        #expect(reported.first?.message.contains(sealedPath) == true)
        #expect(reported.first?.message.contains("offset \(victim.offset)") == true)
        let lostFrames = sealedFrames.filter { $0.blockStart == victim.blockStart && $0.offset >= victim.offset }
        let lost = lostFrames.reduce(0) { $0 + Int($1.header.count) }
        // The frames before the damaged one in its block still decode: only it and the rest of its block
        // are lost.
        #expect(seen.count == all.count - lost)
        #expect(Set(seen).isSubset(of: Set(all)))

        // Without the index file, the rebuild finds the damage itself and names the range.
        for f in dir.indexFiles() { try FileManager.default.removeItem(atPath: f) }
        let reopened = try ArchiveStore.open(directory: dir.path, options: options)
        #expect(reopened.recoveryNotes.contains { $0.contains(sealedPath) && $0.contains("offset \(victim.offset)") })
        let snapshot = try reopened.reader().snapshot()
        #expect(snapshot.damage.count == 1)
        #expect(snapshot.damage.first?.offset == victim.offset)
        let survivors = try snapshot.events()
        #expect(survivors.count == all.count - lost)
        // Writing goes on after the damage.
        #expect(try await reopened.append(orderEvents(order: 1000, count: 1)).storedSeqs == [UInt64(all.count + 1)])
        reopened.close()
    }

    @Test func damagedOrStaleIndexFilesAreRebuiltNotTrusted() async throws {
        let dir = TempDirectory()
        let store = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 4 << 10))
        for i in 0..<80 { _ = try await store.append(orderEvents(order: i % 10, count: 2)) }
        store.close()
        let expected = try ArchiveReader(directory: dir.path).snapshot().events(matching: EventFilter(ref: "or_4"))
        #expect(expected.count == 16)
        var rng = SeededRandom(seed: 11)
        for index in dir.indexFiles() {
            var bytes = read(index)
            bytes[Int(rng.next() % UInt64(bytes.count))] ^= 0x01
            write(bytes, to: index)
        }
        #expect(
            try ArchiveReader(directory: dir.path).snapshot().events(matching: EventFilter(ref: "or_4")) == expected)
        // Truncated to nothing, or not an index at all.
        write([], to: dir.indexFiles()[0])
        write(Array("junk".utf8), to: dir.indexFiles()[1])
        #expect(
            try ArchiveReader(directory: dir.path).snapshot().events(matching: EventFilter(ref: "or_4")) == expected)
        let reopened = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 4 << 10))
        reopened.close()
        for index in dir.indexFiles() {
            #expect(throws: Never.self) { _ = try IndexFile(path: index, segmentPath: "") }
        }
    }

    @Test func anEmptyActiveSegmentFromACrashDuringRollIsRecreated() async throws {
        let dir = TempDirectory()
        let store = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 2 << 10))
        for i in 0..<30 { _ = try await store.append(orderEvents(order: i, count: 2)) }
        store.close()
        let reader = try ArchiveReader(directory: dir.path)
        let before = try reader.snapshot().events().count
        // A crash between creating the next segment and its header reaching the disk.
        let next = dir.logDirectory + "/" + SegmentName.log(UInt64(before + 1))
        write([], to: next)
        let reopened = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 2 << 10))
        #expect(try await reopened.append(orderEvents(order: 500, count: 1)).storedSeqs == [UInt64(before + 1)])
        reopened.close()
        #expect(try ArchiveReader(directory: dir.path).snapshot().events().count == before + 1)
    }
}
