import Foundation
import Testing

@testable import HooklogStore

/// Index files of version 2 are checked a page at a time as they are read; version 1 files (one checksum
/// over the body, written by earlier builds) are still read.
@Suite struct IndexFileTests {
    /// A sealed archive of 3000 orders (two events each) in several segments whose index files span
    /// many pages, and the events of `or_4`.
    static func archive() async throws -> (TempDirectory, [StoredEvent]) {
        let dir = TempDirectory()
        var options = smallOptions(segmentSize: 128 << 10, blockSize: 16 << 10)
        options.recompressSealed = false
        options.durable = false
        try await append((0..<3000).map { orderEvents(order: $0, count: 2, padding: 20) }, to: dir, options: options)
        let expected = try ArchiveReader(directory: dir.path).snapshot().events(matching: EventFilter(ref: "or_4"))
        #expect(expected.count == 2)
        return (dir, expected)
    }

    /// The sections of an index file (file offsets): key table and postings.
    static func sections(_ path: String) -> (keys: Range<Int>, postings: Range<Int>, pages: Int) {
        let bytes = read(path)
        let count = Int(bytes.loadU32(at: FileHeader.size))
        let body = FileHeader.size + 4 + 4 * count + 4
        let keys = body + Int(bytes.loadU64(at: body + 16))
        let keyCount = Int(bytes.loadU64(at: body + 24))
        let postings = body + Int(bytes.loadU64(at: body + 32))
        let postingsLength = Int(bytes.loadU64(at: body + 40))
        return (keys..<(keys + keyCount * IndexFile.keyEntrySize), postings..<(postings + postingsLength), count)
    }

    /// The walk an index file is written from (`sorted()`, a bucket sort of the arena) gives
    /// every key once, ascending, with exactly the ordinals `postings` finds by following its chain:
    /// keys of one posting and of thousands, interleaved, repeated ordinals dropped, key 0 among them.
    @Test func theSortedWalkGivesEveryKeyWithItsPostings() {
        var random = SeededRandom(seed: 5)
        for round in 0..<20 {
            var table = PostingTable(capacity: 4)  // grows (rehashes) many times on the way
            let hot = (0..<(1 + round % 5)).map { _ in random.next() }  // an account, a type: on most events
            var ordinal: UInt32 = 0
            for _ in 0..<(round * 400) {
                ordinal += UInt32(random.next() % 3)  // gaps, and the same ordinal twice
                table.append(hot[Int(random.next() % UInt64(hot.count))], ordinal)
                table.append(random.next() % 4 == 0 ? 0 : random.next(), ordinal)  // unique keys (and key 0)
                // A few keys, repeated, all in the sort's first bucket (their top 16 bits are 0): more than
                // its insertion sort takes.
                table.append(random.next() % 200, ordinal)
            }
            let sorted = table.sorted()
            let walked = sorted.keys.indices.map { (sorted.keys[$0], Array(sorted.list($0))) }
            let keys = table.allKeys.sorted()
            #expect(walked.map(\.0) == keys, "round \(round)")
            #expect(walked.count == table.count, "round \(round)")
            for (key, list) in walked where list != table.postings(key) {
                Issue.record("round \(round): key \(key): \(list) instead of \(table.postings(key))")
            }
        }
        // Buckets (top 16 bits) of 2, 10, 64 and 65 keys, each added in descending order: the insertion
        // sort at its limit and the standard sort just past it, every key moved as far as it can be.
        var table = PostingTable()
        var expected: [UInt64] = []
        for (bucket, size) in [(3, 2), (700, 10), (9000, 64), (65535, 65)] {
            let keys = (0..<size).map { _ in UInt64(bucket) << 48 | (random.next() >> 16) }.sorted(by: >)
            for (i, key) in keys.enumerated() { table.append(key, UInt32(i)) }
            expected += keys.reversed()
        }
        let sorted = table.sorted()
        for (rank, key) in sorted.keys.enumerated() { #expect(Array(sorted.list(rank)) == table.postings(key)) }
        #expect(sorted.keys == expected)
    }

    /// The encoder sizes the file first and writes it in place (`SizedByteWriter`): for indexes of every
    /// shape (empty, one key, keys of one posting and of thousands, ordinals needing 1-4 varint bytes,
    /// bodies just under and over a page, names and damage) its bytes are exactly those of the layout
    /// written the plain way, section after section, with growing arrays.
    @Test func theSizedEncoderWritesTheLayoutByteForByte() throws {
        var random = SeededRandom(seed: 23)
        for round in 0..<40 {
            var index = MemoryIndex(baseSeq: 1 + random.next() % 1_000_000)
            let events = round == 0 ? 0 : Int(random.next() % UInt64(round < 20 ? 300 : 30_000))
            let hot = (0..<3).map { _ in random.next() }
            var ordinal: UInt32 = UInt32(random.next() % 3)
            // Ordinals spaced so that deltas and first ordinals take 1 to 4 varint bytes.
            let step = UInt32([1, 3, 200, 40_000][round % 4])
            for _ in 0..<events {
                ordinal += 1 + UInt32(random.next() % UInt64(step))
                index.table.append(hot[Int(random.next() % 3)], ordinal)
                let unique = random.next()
                if index.table.append(unique, ordinal) { index.dedupeKeys.append(unique) }
                index.table.append(random.next() % 50, ordinal)
            }
            index.endSeq = index.baseSeq + UInt64(ordinal) + 1
            for f in 0..<Int(random.next() % 20) {
                let header = FrameHeader(
                    compressedLength: UInt32(random.next() % 90_000),
                    uncompressedLength: UInt32(random.next() % 200_000),
                    firstSeq: index.baseSeq + UInt64(f * 10), count: 10, flags: UInt16(f % 2),
                    minTime: Int64(bitPattern: random.next()), maxTime: Int64(bitPattern: random.next()))
                index.frames.append(FrameInfo(offset: random.next(), blockStart: random.next(), header: header))
            }
            for (i, kind) in IndexKey.Kind.allCases.enumerated() where random.next() % 2 == 0 {
                let name = "name \(i) ✓ \(random.next() % 1000)"
                index.nameTable[IndexKey.of(kind, name)] = (kind, name)
                index.table.append(IndexKey.of(kind, name), ordinal + 1)
            }
            for d in 0..<Int(random.next() % 3) {
                index.damage.append(
                    DamagedRange(
                        path: "x.log", offset: random.next(), length: random.next() % 5000, reason: "damage \(d)",
                        lostSeqs: d == 0 ? nil : 10..<(20 + UInt64(d))))
            }
            let created = Int64(bitPattern: random.next())
            let sized = IndexFile.encode(index, logLength: 77_777, createdMicros: created)
            let plain = Self.plainEncoding(index, logLength: 77_777, createdMicros: created)
            #expect(sized.count == plain.count, "round \(round)")
            if sized != plain {
                let at =
                    zip(sized, plain).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                    ?? min(sized.count, plain.count)
                Issue.record("round \(round): \(sized.count) against \(plain.count) bytes, first difference at \(at)")
            }
        }
    }

    /// An index file laid out the plain way (growing arrays, a key's postings followed through its
    /// chain), for `theSizedEncoderWritesTheLayoutByteForByte`: docs/FORMAT.md, "Index file".
    static func plainEncoding(_ index: MemoryIndex, logLength: UInt64, createdMicros: Int64) -> [UInt8] {
        var body = ByteWriter()
        body.zeros(IndexFile.directorySize)
        let framesOffset = body.count
        for f in index.frames {
            body.u64(f.offset)
            body.u64(f.blockStart)
            body.u64(f.header.firstSeq)
            body.u32(f.header.count)
            body.u32(f.header.compressedLength)
            body.u32(f.header.uncompressedLength)
            body.u32(UInt32(f.header.flags))
            body.i64(f.header.minTime)
            body.i64(f.header.maxTime)
        }
        let keysOffset = body.count
        var postings = ByteWriter()
        let keys = index.table.allKeys.sorted()
        for key in keys {
            body.u64(key)
            body.u32(UInt32(postings.count))
            var previous: UInt32 = 0
            for (i, ordinal) in index.table.postings(key).enumerated() {
                postings.varint(UInt64(i == 0 ? ordinal : ordinal - previous))
                previous = ordinal
            }
        }
        let postingsOffset = body.count
        body.bytes += postings.bytes
        while body.count % 8 != 0 { body.u8(0) }
        let bloom = BloomFilter(keys: index.dedupeKeys)
        let bloomOffset = body.count
        for w in bloom.words { body.u64(w) }
        let namesOffset = body.count
        let names = index.nameTable.values.sorted { ($0.kind.rawValue, $0.name) < ($1.kind.rawValue, $1.name) }
        for n in names {
            body.u8(n.kind.rawValue)
            body.string(n.name)
            body.varint(UInt64(index.table.postingCount(IndexKey.of(n.kind, n.name))))
        }
        let damageOffset = body.count
        for d in index.damage {
            body.u64(d.offset)
            body.u64(d.length)
            body.u64(d.lostSeqs?.lowerBound ?? 0)
            body.u64(d.lostSeqs?.upperBound ?? 0)
            body.string(d.reason)
        }
        var dir = ByteWriter()
        for v in [
            framesOffset, index.frames.count, keysOffset, keys.count, postingsOffset, postings.count,
            bloomOffset, bloom.words.count, namesOffset, names.count, damageOffset, index.damage.count,
        ] { dir.u64(UInt64(v)) }
        body.bytes.replaceSubrange(0..<IndexFile.directorySize, with: dir.bytes)
        var table = ByteWriter()
        let crcs = PageChecksums.checksums(of: body.bytes)
        table.u32(UInt32(crcs.count))
        for c in crcs { table.u32(c) }
        table.u32(CRC32C.checksum(table.bytes))
        let header = FileHeader(
            kind: .index, version: 2, baseSeq: index.baseSeq, createdMicros: createdMicros,
            extra: [index.endSeq, logLength, UInt64(table.count + body.count)])
        return header.encoded() + table.bytes + body.bytes
    }

    /// `find` guesses a key's place from its value (keys are hashes, spread evenly): whatever the spread,
    /// every key is found and no absent one is.
    @Test func lookupsFindEveryKeyHoweverTheKeysAreSpread() throws {
        var random = SeededRandom(seed: 11)
        for shape in 0..<4 {
            var index = MemoryIndex(baseSeq: 1)
            var keys: [UInt64] = []
            for i in 0..<5000 {
                let k: UInt64
                switch shape {
                case 0: k = random.next() | 1  // hashes: even over the range
                case 1: k = UInt64(i) * 7 + 1  // all at the bottom of the range
                case 2: k = i % 2 == 0 ? UInt64(i) + 1 : UInt64.max - UInt64(i) * 1_000_003  // at both ends
                default: k = UInt64(i + 1) * UInt64(i + 1) * UInt64(i + 1) * 1_000  // ever sparser
                }
                keys.append(k)
                _ = index.table.append(k, UInt32(i))
            }
            let dir = TempDirectory()
            let path = dir.path + "/x.idx"
            write(IndexFile.encode(index, logLength: 64, createdMicros: 0), to: path)
            let file = try IndexFile(path: path, segmentPath: dir.path + "/x.log")
            for (i, k) in keys.enumerated() { #expect(file.postings(k) == [UInt32(i)], "shape \(shape), key \(i)") }
            let present = Set(keys)
            var absent = (0..<2000).map { _ in random.next() }
            absent += keys.flatMap { [$0 &- 1, $0 &+ 1] }.prefix(2000)
            for k in absent where !present.contains(k) && k != 0 { #expect(file.postings(k).isEmpty, "shape \(shape)") }
        }
    }

    @Test func aDamagedPageIsFoundWhenReadAndTheLookupAnswersFromTheLog() async throws {
        let (dir, expected) = try await Self.archive()
        let indexes = dir.indexFiles()
        try #require(indexes.count >= 3)
        try #require(indexes.allSatisfy { Self.sections($0).pages >= 8 })
        // Flip one bit in the key table of one index and in the postings of another: both still open
        // (those pages are not read on open), and every lookup still finds every event.
        for (path, inKeys) in [(indexes[0], true), (indexes[1], false)] {
            let s = Self.sections(path)
            let range = inKeys ? s.keys : s.postings
            try #require(!range.isEmpty)
            var bytes = read(path)
            bytes[range.lowerBound + range.count / 2] ^= 0x10
            write(bytes, to: path)
            let log = String(path.dropLast(4)) + ".log"
            let index = try IndexFile(path: path, segmentPath: log)
            #expect(index.firstDamagedOffset() != nil)
        }
        let snapshot = try ArchiveReader(directory: dir.path).snapshot()
        #expect(try snapshot.events(matching: EventFilter(ref: "or_4")) == expected)
        var found = 0
        for order in 0..<3000 { found += try snapshot.events(matching: EventFilter(entity: "or_\(order)")).count }
        #expect(found == 6000)
        // check reads every page, reports both, and repair rewrites them.
        let report = try ArchiveCheck.run(directory: dir.path, repair: false)
        for path in indexes.prefix(2) {
            #expect(
                report.problems.contains { $0.hasPrefix(path) && $0.contains("checksum mismatch in the page") },
                "\(report.problems)")
        }
        #expect(report.problems.count == 2, "\(report.problems)")
        _ = try ArchiveCheck.run(directory: dir.path, repair: true)
        #expect(try ArchiveCheck.run(directory: dir.path, repair: false).isClean)
        #expect(
            try ArchiveReader(directory: dir.path).snapshot().events(matching: EventFilter(ref: "or_4")) == expected)
    }

    /// Each index file of `dir` (version 2, as written) and the same index as version 1: the same body,
    /// then the CRC32C of the whole body.
    static func versions2(of dir: TempDirectory) throws -> [(String, (v1: [UInt8], v2: [UInt8]))] {
        try dir.indexFiles().map { path in
            let bytes = read(path)
            var header = try FileHeader.decode(Array(bytes.prefix(FileHeader.size)), kind: .index, path: path)
            #expect(header.version == 2)
            let count = Int(bytes.loadU32(at: FileHeader.size))
            let body = Array(bytes[(FileHeader.size + 4 + 4 * count + 4)...])
            header.version = 1
            header.extra[2] = UInt64(body.count + 4)
            var crc = ByteWriter(capacity: 4)
            crc.u32(CRC32C.checksum(body))
            return (path, (header.encoded() + body + crc.bytes, bytes))
        }
    }

    @Test func aVersion1IndexIsStillReadAndCheckedWholeOnOpen() async throws {
        let (dir, expected) = try await Self.archive()
        let indexes = dir.indexFiles()
        let versions = try Self.versions2(of: dir)
        for (path, bytes) in versions { write(bytes.v1, to: path) }
        for path in indexes {
            let index = try IndexFile(path: path, segmentPath: String(path.dropLast(4)) + ".log")
            #expect(index.firstDamagedOffset() == nil)
        }
        #expect(
            try ArchiveReader(directory: dir.path).snapshot().events(matching: EventFilter(ref: "or_4")) == expected)
        #expect(try ArchiveCheck.run(directory: dir.path, repair: false).isClean)
        // The writer upgrades them to version 2 on open, from their bodies alone (the logs are not read:
        // each upgraded file is byte for byte what it was before the test made it version 1).
        var options = smallOptions(segmentSize: 128 << 10, blockSize: 16 << 10)
        options.recompressSealed = false  // (it would rewrite the fast-LZ4 segments, and their indexes)
        let store = try ArchiveStore.open(directory: dir.path, options: options)
        store.close()
        // (Closing rewrites the active segment's checkpoint index: only sealed segments' are compared.)
        let active = String(try #require(dir.segmentFiles().last).dropLast(4)) + ".idx"
        for (path, bytes) in versions where path != active {
            let same = read(path) == bytes.v2
            #expect(same, "\(path) is not the version 2 file it was")
        }
        #expect(
            try ArchiveReader(directory: dir.path).snapshot().events(matching: EventFilter(ref: "or_4")) == expected)
        for (path, bytes) in versions { write(bytes.v1, to: path) }
        // A flipped bit anywhere in a version 1 body makes it refused on open (then rebuilt by readers).
        var bytes = read(indexes[0])
        bytes[FileHeader.size + (bytes.count - FileHeader.size) / 2] ^= 0x01
        write(bytes, to: indexes[0])
        #expect(throws: StoreError.self) {
            _ = try IndexFile(path: indexes[0], segmentPath: String(indexes[0].dropLast(4)) + ".log")
        }
        #expect(
            try ArchiveReader(directory: dir.path).snapshot().events(matching: EventFilter(ref: "or_4")) == expected)
    }

    @Test func aVersionPastWhatThisBuildReadsIsRefusedWithAClearError() async throws {
        let (dir, _) = try await Self.archive()
        let path = dir.indexFiles()[0]
        let bytes = read(path)
        var header = try FileHeader.decode(Array(bytes.prefix(FileHeader.size)), kind: .index, path: path)
        header.version = 3
        write(header.encoded() + bytes[FileHeader.size...], to: path)
        let error = #expect(throws: StoreError.self) { _ = try IndexFile(path: path, segmentPath: "") }
        #expect(
            error?.code == .unsupportedVersion && error?.message.contains("reads versions 1 to 2") == true,
            "\(String(describing: error))")
    }
}
