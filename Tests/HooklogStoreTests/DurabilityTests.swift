import Foundation
import Synchronization
import Testing

@testable import HooklogStore

/// What a crash, a failed sync or a damaged file must not do to acknowledged events: each test puts the
/// store in one such state on purpose (through the `Syscalls` seam or by editing files) and checks what
/// the next open, reader or retry makes of it.
extension DiskSimulation {
    @Suite struct DurabilityTests {
        /// A request of `count` events with payloads of about `size` bytes, with a body digest as ingest
        /// gives a request without event IDs.
        func request(_ tag: String, count: Int, size: Int = 600) -> AppendRequest {
            var rng = SeededRandom(seed: tag.utf8.reduce(7) { $0 &* 31 &+ UInt64($1) })
            let events = (0..<count).map { i in
                // Random hex: LZ4 must not shrink the padding away, so that sizes say how much log is written.
                let pad = String((0..<size).map { _ in "0123456789abcdef".randomElement(using: &rng)! })
                return NewEvent(
                    account: "acme", source: "orderspace", type: "order.updated", entity: "or_\(i)", refs: [], id: nil,
                    payload: Array("{\"tag\":\"\(tag)\",\"n\":\(i),\"pad\":\"\(pad)\"}".utf8))
            }
            return AppendRequest(events: events, bodyDigest: Array("digest-\(tag)".utf8))
        }

        func allEvents(_ dir: TempDirectory) throws -> [StoredEvent] {
            try ArchiveReader(directory: dir.path).snapshot().events()
        }

        @Test func aCommitSplitAcrossFramesIsKeptWholeOrNotAtAll() async throws {
            let dir = TempDirectory()
            let options = smallOptions(segmentSize: 1 << 20, blockSize: 2 << 10)
            let store = try ArchiveStore.open(directory: dir.path, options: options)
            _ = try await store.append(request("a", count: 1))
            let big = request("b", count: 8)
            _ = try await store.append(big)
            store.close()
            let log = dir.segmentFiles()[0]
            let all = frames(of: log)
            #expect(all.count >= 3, "the second commit needs several frames of 2 KB")
            #expect(all.dropLast().allSatisfy { $0.header.commitContinues || $0.endSeq == 2 })
            #expect(all.last.map { !$0.header.commitContinues } == true)
            // A power cut that kept the commit's first frames and lost its last one.
            var bytes = read(log)
            let last = all.last!
            for i in Int(last.offset)..<bytes.count { bytes[i] = 0 }
            write(bytes, to: log)

            let reopened = try ArchiveStore.open(directory: dir.path, options: options)
            #expect(try allEvents(dir).count == 1, "none of the interrupted commit's events is read")
            #expect(reopened.recoveryNotes.contains { $0.contains("interrupted commit") })
            // The sender retries the same bytes: every event is stored, none answered as a duplicate.
            let retried = try await reopened.append(big)
            #expect(retried.duplicateCount == 0)
            #expect(retried.storedSeqs == Array(2...9))
            reopened.close()
            #expect(try allEvents(dir).map(\.seq) == Array(1...9))
            #expect(try ArchiveCheck.run(directory: dir.path, repair: false).isClean)
        }

        @Test func aRetryIsFoundBehindAnEmptyActiveSegment() async throws {
            let dir = TempDirectory()
            // Segments of 4 KB: the 5 KB request fills one, and the commit that stores it seals it.
            let options = smallOptions(segmentSize: 4 << 10, blockSize: 8 << 10)
            let store = try ArchiveStore.open(directory: dir.path, options: options)
            let first = request("first", count: 8)
            _ = try await store.append(first)
            #expect(try await store.stats().segmentCount == 2, "the active segment is new and empty")
            #expect(try await store.append(first).duplicateCount == 8, "right after the roll")
            store.close()
            let reopened = try ArchiveStore.open(directory: dir.path, options: options)
            #expect(try await reopened.append(first).duplicateCount == 8, "right after an open")
            reopened.close()
            #expect(try allEvents(dir).count == 8)
        }

        @Test func aSealedSegmentIsCutAndSyncedBeforeTheNextExists() async throws {
            let dir = TempDirectory()
            let disk = SimulatedDisk(root: dir.path, seed: 1, crashAfter: nil)
            Syscalls.interpose(disk)
            defer { Syscalls.interpose(nil) }
            let store = try ArchiveStore.open(
                directory: dir.path, options: smallOptions(segmentSize: 4 << 10, blockSize: 8 << 10))
            _ = try await store.append(request("a", count: 8))
            store.close()
            let trace = disk.trace
            let second = try #require(trace.firstIndex { $0.hasPrefix("create") && $0.hasSuffix(SegmentName.log(9)) })
            let firstLog = SegmentName.log(1)
            let before = trace[..<second]
            let cut = before.lastIndex { $0.hasPrefix("truncate") && $0.contains(firstLog) }
            let synced = before.lastIndex { $0.hasPrefix("sync") && $0.contains(firstLog + " ") }
            #expect(cut != nil && synced != nil && cut! < synced!, "\(before.suffix(6))")
        }

        @Test func zerosAheadOfTheLogAreWrittenThroughADescriptorOfTheirOwn() async throws {
            let dir = TempDirectory()
            let disk = SimulatedDisk(root: dir.path, seed: 1, crashAfter: nil)
            Syscalls.interpose(disk)
            defer { Syscalls.interpose(nil) }
            let store = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 1 << 20))
            _ = try await store.append(request("a", count: 2))
            store.close()
            let log = SegmentName.log(1)
            func fd(_ line: String) -> String? {
                line.split(separator: " ").drop { $0 != "fd" }.dropFirst().first.map(String.init)
            }
            // The writer's own descriptor cuts the zeros off at close; the zeros' pieces are written back.
            let logFDs = Set(disk.trace.filter { $0.hasPrefix("truncate") && $0.contains(log) }.compactMap(fd))
            let zeroFDs = Set(disk.trace.filter { $0.hasPrefix("write back") && $0.contains(log) }.compactMap(fd))
            #expect(!logFDs.isEmpty && !zeroFDs.isEmpty)
            #expect(logFDs.isDisjoint(with: zeroFDs), "\(logFDs) \(zeroFDs)")
        }

        @Test func aFailedSyncStopsAcknowledgingUntilReopened() async throws {
            let dir = TempDirectory()
            let store = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 1 << 20))
            _ = try await store.append(request("a", count: 1))
            // Every sync of the log fails from here on.
            Syscalls.interpose(
                SimulatedDisk(root: dir.path, seed: 2, crashAfter: nil) {
                    $0.hasPrefix("sync") && $0.contains(".log") ? EIO : nil
                })
            defer { Syscalls.interpose(nil) }
            await #expect(throws: StoreError.self) { _ = try await store.append(self.request("b", count: 1)) }
            #expect(store.health != nil)
            Syscalls.interpose(nil)
            // The disk is well again, but the store does not trust what it wrote before.
            await #expect(throws: StoreError.self) { _ = try await store.append(self.request("c", count: 1)) }
            store.close()
            let reopened = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 1 << 20))
            #expect(try await reopened.append(request("d", count: 1)).storedSeqs.count == 1)
            reopened.close()
        }

        @Test func aFailedWriteBackIsAnError() throws {
            let dir = TempDirectory()
            Syscalls.interpose(
                SimulatedDisk(root: dir.path, seed: 1, crashAfter: nil) { $0.hasPrefix("write back") ? EIO : nil })
            defer { Syscalls.interpose(nil) }
            #expect(throws: StoreError.self) {
                try FileSystem.writeAtomically(
                    [UInt8](repeating: 7, count: 1 << 20), to: dir.path + "/f", directory: dir.path, uncached: true)
            }
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/f"), "nothing renamed into place")
        }

        @Test func aReaderReadsNothingOfTheActiveSegmentWithoutTheWritersMark() async throws {
            let dir = TempDirectory()
            let store = try ArchiveStore.open(directory: dir.path, options: smallOptions(segmentSize: 1 << 20))
            _ = try await store.append(request("a", count: 3))
            #expect(try allEvents(dir).count == 3)
            // What a reader finds while the writer recovers: the lock held, no mark yet.
            try FileManager.default.removeItem(atPath: dir.logDirectory + "/COMMITTED")
            #expect(try allEvents(dir).isEmpty)
            store.close()
        }

        @Test func aStaleIndexOfTheActiveSegmentIsDropped() async throws {
            let dir = TempDirectory()
            let options = smallOptions(segmentSize: 1 << 20, blockSize: 1 << 10)
            try await append([request("a", count: 1).events, request("b", count: 1).events], to: dir, options: options)
            let index = dir.logDirectory + "/" + SegmentName.index(1)
            #expect(FileManager.default.fileExists(atPath: index), "a clean close leaves a checkpoint index")
            // The last frame torn after the checkpoint was written (a later crash), then a different event
            // written where it was.
            let log = dir.segmentFiles()[0]
            let all = frames(of: log)
            let bytes = read(log)
            write(Array(bytes[..<Int(all.last!.offset + 10)]), to: log)
            let store = try ArchiveStore.open(directory: dir.path, options: options)
            #expect(!FileManager.default.fileExists(atPath: index))
            _ = try await store.append(request("c", count: 1, size: 900))
            let tags = try allEvents(dir).map { String(decoding: $0.payload.prefix(11), as: UTF8.self) }
            #expect(tags == ["{\"tag\":\"a\",", "{\"tag\":\"c\","])
            store.close()
        }

        @Test func aDamagedHeaderOfTheActiveSegmentDoesNotStopTheArchive() async throws {
            let dir = TempDirectory()
            let options = smallOptions(segmentSize: 1 << 20)
            try await append([request("a", count: 2).events], to: dir, options: options)
            try? FileManager.default.removeItem(atPath: dir.logDirectory + "/" + SegmentName.index(1))
            let log = dir.segmentFiles()[0]
            var bytes = read(log)
            bytes[0] ^= 0xFF
            write(bytes, to: log)
            #expect(try allEvents(dir).count == 2, "a reader reads the frames all the same")
            let store = try ArchiveStore.open(directory: dir.path, options: options)
            #expect(store.recoveryNotes.contains { $0.contains("damaged file header") })
            _ = try await store.append(request("b", count: 1))
            store.close()
            #expect(try allEvents(dir).count == 3)
            #expect(try ArchiveCheck.run(directory: dir.path, repair: false).isClean)
        }

        /// Index pages the page cache does not hold are first read with `pread` (a failure there is an
        /// error the store handles: the index is rebuilt from its log), never first touched through the
        /// map, where it would be SIGBUS. Failing from offset 0: the head read when the file is opened;
        /// from past the head: the body pages a lookup or `check` reads later.
        @Test(arguments: [0, MappedFile.headLength])
        func aDiskErrorUnderAnIndexPageIsDamageNotACrash(failingFrom: Int) async throws {
            let dir = TempDirectory()
            var options = smallOptions(segmentSize: 256 << 10, blockSize: 64 << 10)
            var rng = SeededRandom(seed: 7)
            options.recompressSealed = false
            // Many distinct keys, so that each sealed segment's index is larger than the head read at open.
            let batches = (0..<90).map { b in
                (0..<40).map { i in
                    NewEvent(
                        account: "acme", source: "orderspace", type: "order.updated", entity: "or_\(b * 40 + i)",
                        refs: (0..<6).map { "SKU-\(b)-\(i)-\($0)" }, id: nil,
                        payload: Array("{\"n\":\(b * 40 + i),\"pad\":\"\(PowerCutRun.noise(&rng, 200))\"}".utf8))
                }
            }
            try await append(batches, to: dir, options: options)
            #expect(dir.indexFiles().count >= 2)
            #expect(dir.indexFiles().contains { read($0).count > MappedFile.headLength })
            let expected = try allEvents(dir).filter { $0.entity == "or_1234" }.map(\.seq)
            #expect(expected.count == 1)
            // Out of the page cache (pages the cache holds are read through the map), and reads of the
            // index files fail from that offset on, as on a bad sector.
            for index in dir.indexFiles() {
                let fd = open(index, O_RDONLY)
                _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
                close(fd)
            }
            let failed = Mutex(0)
            Syscalls.interpose(
                SimulatedDisk(root: dir.path, seed: 1, crashAfter: nil) { line in
                    guard line.hasPrefix("read"), line.contains(".idx"),
                        let offset = Int(line.split(separator: " ").last!),
                        offset >= failingFrom
                    else { return nil }
                    failed.withLock { $0 += 1 }
                    return EIO
                })
            defer { Syscalls.interpose(nil) }
            let found = try ArchiveReader(directory: dir.path).snapshot().events(
                matching: EventFilter(entity: "or_1234")
            ).map(\.seq)
            #expect(found == expected)
            #expect(try !ArchiveCheck.run(directory: dir.path, repair: false).isClean, "the unreadable pages reported")
            #expect(failed.withLock { $0 } > 0, "index pages were read")
            let store = try ArchiveStore.open(directory: dir.path, options: options)
            _ = try await store.append(request("after", count: 1))
            store.close()
        }

        /// A byte-identical retry in the same group commit as the request it repeats is answered from it:
        /// when that commit's write fails, the retry fails too (before, it was acknowledged as a duplicate
        /// of seqs never written, which later events then took).
        @Test func aRetryInTheSameCommitFailsWithIt() throws {
            let dir = TempDirectory()
            let writer = try LogWriter(directory: dir.path, options: smallOptions(segmentSize: 1 << 20))
            defer { writer.close() }
            Syscalls.interpose(
                SimulatedDisk(root: dir.path, seed: 1, crashAfter: nil) {
                    $0.hasPrefix("write") && $0.contains(".log") && !$0.hasSuffix(" at 0") ? EIO : nil
                })
            defer { Syscalls.interpose(nil) }
            let original = request("a", count: 3)
            let pending = writer.commit([original, original])
            #expect(pending.results.count == 2)
            for result in pending.results {
                guard case .failure = result else {
                    Issue.record("answered \(result) although nothing was written")
                    continue
                }
            }
        }

        @Test func anOpenThatFailsLeavesNothingRunning() async throws {
            let dir = TempDirectory()
            // One small event a commit into large blocks: frames that continue their block, which a
            // sealed segment keeps until it is recompressed.
            var options = smallOptions(segmentSize: 8 << 10, blockSize: 64 << 10)
            options.recompressSealed = false
            try await append((0..<60).map { request("r\($0)", count: 1).events }, to: dir, options: options)
            let before = dir.segmentFiles().map(read)
            #expect(before.count >= 3)
            // The open fails at its last step (the commit mark cannot be written).
            Syscalls.interpose(
                SimulatedDisk(root: dir.path, seed: 1, crashAfter: nil) {
                    $0.hasPrefix("write") && $0.contains("COMMITTED") ? EIO : nil
                })
            defer { Syscalls.interpose(nil) }
            options.recompressSealed = true
            #expect(throws: StoreError.self) { _ = try ArchiveStore.open(directory: dir.path, options: options) }
            // Nothing of that open may go on rewriting the archive without the writer lock.
            try await Task.sleep(for: .milliseconds(800))
            #expect(dir.segmentFiles().map(read) == before, "a sealed segment was rewritten after the open failed")
        }

        @Test func checkRepairTouchesNothingWhileAWriterRuns() async throws {
            let dir = TempDirectory()
            var options = smallOptions(segmentSize: 4 << 10, blockSize: 8 << 10)
            options.recompressSealed = false  // a recompression would write the index anew
            try await append([request("a", count: 8).events, request("b", count: 1).events], to: dir, options: options)
            let index = dir.logDirectory + "/" + SegmentName.index(1)
            // An index whose checksums hold but whose type name is not its log's: the writer opens it as it
            // is, `check` finds it wrong.
            patchIndexBody(index) { bytes, start in
                let name = Array("order.updated".utf8)
                let at = (start..<(bytes.count - name.count)).first { Array(bytes[$0..<($0 + name.count)]) == name }
                bytes[at!] = UInt8(ascii: "O")
            }
            let bytes = read(index)
            #expect(try !ArchiveCheck.run(directory: dir.path, repair: false).isClean)
            let store = try ArchiveStore.open(directory: dir.path, options: options)
            #expect(throws: StoreError.self) { try ArchiveCheck.run(directory: dir.path, repair: true) }
            #expect(read(index) == bytes, "the damaged index is still there for the writer to deal with")
            store.close()
        }

        @Test func archiveFilesAreTheOwnersOnly() async throws {
            let dir = TempDirectory()
            let data = dir.path + "/data"
            let store = try ArchiveStore.open(directory: data, options: smallOptions())
            _ = try await store.append(request("a", count: 1))
            store.close()
            func mode(_ path: String) -> Int {
                ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int) ?? -1
            }
            #expect(mode(data) == 0o700)
            #expect(mode(data + "/log") == 0o700)
            for name in try FileManager.default.contentsOfDirectory(atPath: data + "/log") {
                #expect(mode(data + "/log/" + name) == 0o600, "\(name)")
            }
            #expect(mode(data + "/archive-id") == 0o600)
        }

        @Test func theArchiveIdentityIsDurable() throws {
            let dir = TempDirectory()
            let disk = SimulatedDisk(root: dir.path, seed: 1, crashAfter: nil)
            Syscalls.interpose(disk)
            let store = try ArchiveStore.open(directory: dir.path + "/data", options: smallOptions())
            store.close()
            Syscalls.interpose(nil)
            let id = ArchiveIdentity.load(directory: dir.path + "/data")
            disk.powerCut()
            #expect(ArchiveIdentity.load(directory: dir.path + "/data") == id)
            #expect(id != "hooklog")
        }
    }
}
