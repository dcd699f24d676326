import Foundation
import Testing

@testable import HooklogStore

/// Recompressed segments (format version 2) carry a dictionary, a sample of their records, stored twice:
/// every block decodes against it, one damaged copy loses nothing, and two lose only that segment.
@Suite struct SegmentDictionaryTests {
    /// An archive of `count` one-event commits whose sealed segments are recompressed; its events.
    func recompressedArchive(_ count: Int = 400) async throws -> (TempDirectory, [StoredEvent]) {
        let dir = TempDirectory()
        try await append(lightTraffic(count), to: dir, options: smallOptions(segmentSize: 16 << 10, blockSize: 4 << 10))
        return (dir, try ArchiveReader(directory: dir.path).snapshot().events())
    }

    /// The layout of a sealed segment file.
    func layout(_ path: String) throws -> (FileHeader, SegmentDictionary.Layout) {
        let header = try FileHeader.decode(Array(read(path).prefix(FileHeader.size)), kind: .segment, path: path)
        return (header, try SegmentDictionary.layout(file: RawFile(path: path, flags: O_RDONLY), header: header))
    }

    @Test func theSectionHoldsTheDictionaryTwiceAndEitherCopyServes() throws {
        var random = SeededRandom(seed: 7)
        let dictionary = (0..<5000).map { _ in UInt8.random(in: 0x20...0x7a, using: &random) }
        let section = SegmentDictionary.section(dictionary)
        #expect(section.count % 2 == 0)
        let half = section.count / 2
        #expect(SegmentDictionary.decodeCopy(section, at: 0) == dictionary)
        #expect(SegmentDictionary.decodeCopy(section, at: half) == dictionary)
        // A flipped bit anywhere in a copy makes that copy fail its checksum, never decode wrong.
        for offset in stride(from: 0, to: half, by: max(1, half / 97)) {
            var damaged = section
            damaged[offset] ^= 0x10
            #expect(SegmentDictionary.decodeCopy(damaged, at: 0) == nil, "flip at \(offset)")
            #expect(SegmentDictionary.decodeCopy(damaged, at: half) == dictionary)
        }
        // Cut short: no copy.
        #expect(SegmentDictionary.decodeCopy(Array(section.prefix(half - 1)), at: 0) == nil)
    }

    @Test func aSmallSegmentGetsASmallDictionary() {
        /// The bytes a sample takes with the stride chosen for these records.
        func sampled(_ bytes: UInt64, _ records: Int) -> Int {
            records / SegmentDictionary.sampleStride(uncompressedBytes: bytes, recordCount: records)
                * (Int(bytes) / records)
        }
        // A full segment: about 64 KB, LZ4's window.
        #expect((60_000...65_536).contains(sampled(300 << 20, 300_000)))
        // 60 KB of records: about a 32nd of them.
        #expect((1_700...1_875).contains(sampled(60_000, 600)))
        #expect(SegmentDictionary.sampleStride(uncompressedBytes: 0, recordCount: 0) == 1)
    }

    @Test func recompressedSegmentsAreSmallerThanWithoutADictionaryAndReadTheSame() async throws {
        let (dir, events) = try await recompressedArchive()
        let sealed = dir.segmentFiles().dropLast()
        try #require(sealed.count >= 2)
        for path in sealed {
            let (header, layout) = try layout(path)
            #expect(header.version == FileHeader.dictionarySegmentVersion)
            #expect(layout.dictionary != nil && layout.problem == nil)
        }
        // Every event by seq, and by its entity through the index and the log.
        let snapshot = try ArchiveReader(directory: dir.path).snapshot()
        for e in events.prefix(60) {
            #expect(try snapshot.event(seq: e.seq)?.payload == e.payload)
        }
        #expect(
            try snapshot.events(matching: EventFilter(entity: "or_3")).map(\.seq)
                == events.filter { $0.entity == "or_3" }.map(\.seq))
    }

    @Test func anIndexRebuiltFromARecompressedLogFindsEveryEvent() async throws {
        let (dir, events) = try await recompressedArchive()
        for path in dir.indexFiles() { try FileManager.default.removeItem(atPath: path) }
        // A reader rebuilds each index from its log, through the dictionary.
        let snapshot = try ArchiveReader(directory: dir.path).snapshot()
        #expect(snapshot.damage.isEmpty)
        #expect(try snapshot.events().map(\.payload) == events.map(\.payload))
        #expect(try ArchiveCheck.run(directory: dir.path, repair: true).isClean)
    }

    @Test func oneDamagedCopyLosesNothingAndCheckSaysSo() async throws {
        let (dir, events) = try await recompressedArchive()
        let path = dir.segmentFiles()[0]
        let (_, before) = try layout(path)
        var bytes = read(path)
        bytes[FileHeader.size + SegmentDictionary.entryHeaderSize + 3] ^= 0x01  // inside the first copy
        write(bytes, to: path)
        let (_, after) = try layout(path)
        #expect(after.dictionary == before.dictionary)
        #expect(try ArchiveReader(directory: dir.path).snapshot().events().map(\.payload) == events.map(\.payload))
        for path in dir.indexFiles() { try FileManager.default.removeItem(atPath: path) }
        #expect(try ArchiveReader(directory: dir.path).snapshot().events().map(\.payload) == events.map(\.payload))
        let report = try ArchiveCheck.run(directory: dir.path, repair: false)
        #expect(
            report.problems.contains { $0.contains(path) && $0.contains("one of the two copies") }, "\(report.problems)"
        )
    }

    @Test func bothCopiesDamagedLoseThatSegmentOnlyReportedAndNothingCrashes() async throws {
        let (dir, events) = try await recompressedArchive()
        let path = dir.segmentFiles()[1]
        let (header, layout) = try layout(path)
        let half = Int(header.extra[0]) / 2
        var bytes = read(path)
        bytes[FileHeader.size + SegmentDictionary.entryHeaderSize + 1] ^= 0x40
        bytes[FileHeader.size + half + SegmentDictionary.entryHeaderSize + 1] ^= 0x40
        write(bytes, to: path)
        let lost = try SegmentIndexerProbe.seqs(path: path, framesStart: layout.framesStart)

        // With its index: the segment's blocks are reported as they are read, and skipped.
        var damage: [StoreError] = []
        var seen: [UInt64] = []
        try ArchiveReader(directory: dir.path).snapshot().forEach(
            matching: EventFilter(), onDamage: { damage.append($0) }
        ) {
            seen.append($0.seq)
            return true
        }
        #expect(!damage.isEmpty && damage.allSatisfy { $0.message.contains("dictionary") }, "\(damage.map(\.message))")
        #expect(seen == events.map(\.seq).filter { !lost.contains($0) })
        // Without it: the rebuilt index records the damage, with the reason.
        for path in dir.indexFiles() { try FileManager.default.removeItem(atPath: path) }
        let snapshot = try ArchiveReader(directory: dir.path).snapshot()
        #expect(snapshot.damage.contains { $0.reason.contains("dictionary") })
        #expect(try snapshot.events().map(\.seq) == events.map(\.seq).filter { !lost.contains($0) })
        let report = try ArchiveCheck.run(directory: dir.path, repair: false)
        #expect(!report.isClean && report.problems.contains { $0.contains("both copies") }, "\(report.problems)")
    }

    @Test func aSectionLengthThatCannotBeCostsThatSegmentNotTheArchive() async throws {
        let (dir, events) = try await recompressedArchive()
        let path = dir.segmentFiles()[0]
        let (_, layout) = try layout(path)
        let lost = try SegmentIndexerProbe.seqs(path: path, framesStart: layout.framesStart)
        // A header written wrong: its checksum holds, its section length is past the file.
        var bytes = read(path)
        for i in 0..<8 { bytes[32 + i] = i == 4 ? 0x01 : 0 }
        let crc = CRC32C.checksum(bytes[0..<(FileHeader.size - 4)])
        for i in 0..<4 { bytes[FileHeader.size - 4 + i] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * i)) }
        write(bytes, to: path)
        for path in dir.indexFiles() { try FileManager.default.removeItem(atPath: path) }
        // The writer opens the archive (rebuilding that index from the log) and every other event reads.
        let store = try ArchiveStore.open(
            directory: dir.path, options: smallOptions(segmentSize: 16 << 10, blockSize: 4 << 10))
        store.close()
        let snapshot = try ArchiveReader(directory: dir.path).snapshot()
        #expect(try snapshot.events().map(\.seq) == events.map(\.seq).filter { !lost.contains($0) })
        #expect(snapshot.damage.contains { $0.path == path })
        let report = try ArchiveCheck.run(directory: dir.path, repair: false)
        #expect(report.problems.contains { $0.contains("does not fit the file") }, "\(report.problems)")
    }

    @Test func aDamagedHeaderStillFindsTheDictionary() async throws {
        let (dir, events) = try await recompressedArchive()
        let path = dir.segmentFiles()[0]
        var bytes = read(path)
        bytes[20] ^= 0xff  // the base seq: the header's checksum fails
        write(bytes, to: path)
        for path in dir.indexFiles() { try FileManager.default.removeItem(atPath: path) }
        let snapshot = try ArchiveReader(directory: dir.path).snapshot()
        // Only the header is reported; every frame after the dictionary section is read.
        #expect(snapshot.damage.count == 1 && snapshot.damage[0].offset == 0, "\(snapshot.damage)")
        #expect(try snapshot.events().map(\.payload) == events.map(\.payload))
    }
}

/// The seqs a segment's frames hold, read from their headers alone.
enum SegmentIndexerProbe {
    static func seqs(path: String, framesStart: UInt64) throws -> Set<UInt64> {
        let bytes = read(path)
        let scan = SegmentScanner.scan(
            Array(bytes[Int(framesStart)...]), fileOffset: framesStart,
            expectedSeq: SegmentName.baseSeq(ofLog: String(path.split(separator: "/").last!))!, blockStart: nil,
            resync: false, path: path)
        return Set(scan.frames.flatMap { Array($0.firstSeq..<$0.endSeq) })
    }
}
