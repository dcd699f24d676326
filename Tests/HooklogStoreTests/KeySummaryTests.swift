import Foundation
import Testing

@testable import HooklogStore

/// The archive's key summary: a lookup of one entity or ref opens only the segments that may hold it,
/// and no state of the summary (missing, damaged, stale, cut short) ever loses an event.
@Suite struct KeySummaryTests {
    /// An archive of 3000 orders (two events each) over several sealed segments, closed.
    static func archive() async throws -> TempDirectory {
        let dir = TempDirectory()
        try await append((0..<3000).map { orderEvents(order: $0, count: 2, padding: 20) }, to: dir, options: options)
        return dir
    }

    static var options: StoreOptions {
        var options = smallOptions(segmentSize: 24 << 10, blockSize: 4 << 10)
        options.recompressSealed = false
        options.durable = false
        return options
    }

    static var directoryPath: (TempDirectory) -> String { { $0.logDirectory + "/" + KeySummary.directoryName } }
    static var filterPath: (TempDirectory) -> String { { $0.logDirectory + "/" + KeySummary.filterName } }

    /// The filters that lookups of these keys must agree on, with and without the summary.
    static let filters: [EventFilter] =
        stride(from: 0, to: 3000, by: 37).flatMap { [EventFilter(entity: "or_\($0)"), EventFilter(ref: "or_\($0)")] }
        + [
            EventFilter(ref: "SKU-3"), EventFilter(ref: "cu_1"), EventFilter(entity: "or_0", ref: "SKU-0"),
            EventFilter(entity: "x2999-3"), EventFilter(entity: "absent"), EventFilter(ref: "absent"),
            EventFilter(account: "acme", ref: "or_1500"),
        ]

    /// Every filter answers through `snapshot(for:)` what a scan of every event finds.
    static func expectSameAnswers(_ dir: TempDirectory, _ comment: Comment? = nil) throws {
        let all = try ArchiveReader(directory: dir.path).snapshot().events()
        try #require(all.count == 6000)
        for filter in filters {
            let scanned = all.filter { e in
                (filter.entity.map { e.entity == $0 } ?? true)
                    && (filter.ref.map { e.entity == $0 || e.refs.contains($0) } ?? true)
                    && (filter.account.map { e.account == $0 } ?? true)
            }
            let keyed = try ArchiveReader(directory: dir.path).snapshot(for: filter)
            #expect(try keyed.events(matching: filter) == scanned, "\(filter) \(comment.map { "\($0)" } ?? "")")
        }
    }

    @Test func aLookupReadsJustTheFramesItNeeds() async throws {
        let dir = try await Self.archive()
        var rng = SeededRandom(seed: 11)
        var continued = 0
        for path in dir.indexFiles() {
            let log = String(path.dropLast(4)) + ".log"
            let all = try IndexFile(path: path, segmentPath: log).frames
            continued += all.filter { !$0.header.startsBlock }.count
            let events = Int(all.last!.endSeq - all.first!.firstSeq)
            for size in [1, 2, 5, 20] {
                let ordinals = Array(Set((0..<size).map { _ in UInt32(rng.next() % UInt64(events)) })).sorted()
                // A fresh file: its frame table not read yet.
                let sub = try IndexFile(path: path, segmentPath: log).frames(holding: ordinals)
                let positions = sub.map { f in all.firstIndex { $0.offset == f.offset } }
                #expect(
                    positions.allSatisfy { $0 != nil } && zip(positions, positions.dropFirst()).allSatisfy { $0! < $1! }
                )
                for (k, f) in sub.enumerated() where !f.header.startsBlock {
                    #expect(k > 0 && positions[k - 1]! == positions[k]! - 1, "a block's earlier frames come with it")
                }
                let base = all.first!.firstSeq
                for o in ordinals {
                    #expect(
                        sub.contains { $0.firstSeq <= base + UInt64(o) && base + UInt64(o) < $0.endSeq },
                        "ordinal \(o) in \(path)")
                }
            }
        }
        #expect(continued > 0, "some blocks span several frames")
    }

    @Test func aLookupOpensOnlyTheSegmentsThatMayHoldItsKey() async throws {
        let dir = try await Self.archive()
        let sealed = dir.segmentFiles().count - 1
        try #require(sealed >= 8)
        let entries = try #require(KeySummary.entries(ofDirectory: read(Self.directoryPath(dir))))
        #expect(entries.count == sealed, "one filter a sealed segment")
        try Self.expectSameAnswers(dir)
        // An order's two events are in one or two segments (plus the active one, always read); across
        // 81 orders, a false positive now and then.
        var opened = 0
        for order in stride(from: 0, to: 3000, by: 37) {
            opened += try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "or_\(order)"))
                .segmentCount
        }
        #expect(opened <= 81 * 3 + 8, "\(opened) segments opened for 81 lookups of \(sealed + 1)")
        // Keys in every segment (a SKU) and filters without an entity or ref open them all.
        #expect(
            try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(ref: "SKU-3")).segmentCount == sealed + 1)
        #expect(
            try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(type: "order.created")).segmentCount
                == sealed + 1)
        #expect(try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "absent")).segmentCount <= 3)
    }

    @Test func aMissingSummaryIsMadeAgainWhenTheWriterOpens() async throws {
        let dir = try await Self.archive()
        let before = read(Self.directoryPath(dir))
        try FileManager.default.removeItem(atPath: Self.directoryPath(dir))
        try FileManager.default.removeItem(atPath: Self.filterPath(dir))
        // Without it, every segment is opened, and the answers are the same.
        #expect(
            try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "or_4")).segmentCount
                == dir.segmentFiles().count)
        try Self.expectSameAnswers(dir)
        try await append([], to: dir, options: Self.options)
        let after = try #require(KeySummary.entries(ofDirectory: read(Self.directoryPath(dir))))
        // The same filters; not always at the same places: when the seal thread is still writing one
        // segment's filter as the next is sealed, the index thread writes the next one itself, and it
        // can land first (the summary sorts its entries when read).
        let original = try #require(KeySummary.entries(ofDirectory: before))
        func segments(_ entries: [KeySummary.Entry]) -> [[UInt64]] {
            entries.map { [$0.baseSeq, $0.endSeq, UInt64($0.lineCount)] }
        }
        #expect(segments(after) == segments(original))
        #expect(try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "or_4")).segmentCount <= 3)
        try Self.expectSameAnswers(dir)
    }

    @Test func aDamagedSummaryCostsSpeedNeverAnEvent() async throws {
        let dir = try await Self.archive()
        let sealed = dir.segmentFiles().count - 1
        var filters = read(Self.filterPath(dir))
        // Every page of every filter with a bit flipped in its lines: each fails its checksum.
        for page in stride(from: KeySummary.pageSize, to: filters.count, by: KeySummary.pageSize) {
            filters[page + 100] ^= 0x04
        }
        write(filters, to: Self.filterPath(dir))
        #expect(
            try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "absent")).segmentCount == sealed
                + 1)
        try Self.expectSameAnswers(dir, "damaged pages")
        // The writer's next open checks every page and writes the damaged filters again.
        try await append([], to: dir, options: Self.options)
        #expect(try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "absent")).segmentCount <= 3)
        try Self.expectSameAnswers(dir, "rewritten")
        // Cut short: the entries past the end are not trusted.
        let cut = read(Self.filterPath(dir))
        write(Array(cut.prefix(cut.count / 2)), to: Self.filterPath(dir))
        try Self.expectSameAnswers(dir, "cut short")
    }

    @Test func anEntryThatNoLongerDescribesItsSegmentIsIgnored() async throws {
        let dir = try await Self.archive()
        let sealed = dir.segmentFiles().count - 1
        // Entries that say each segment ends one event early (their checksums right): a summary left
        // from before the segments were rewritten by hand. Every filter then claims nothing is there.
        var entries = try #require(KeySummary.entries(ofDirectory: read(Self.directoryPath(dir))))
        var bytes = KeySummary.directoryHeader()
        for i in entries.indices {
            entries[i].endSeq -= 1
            bytes += entries[i].encoded()
        }
        write(bytes, to: Self.directoryPath(dir))
        #expect(
            try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "absent")).segmentCount == sealed
                + 1)
        try Self.expectSameAnswers(dir, "stale entries")
        // A directory that is not one (wrong header): no summary at all.
        write(Array(repeating: 0x41, count: 200), to: Self.directoryPath(dir))
        try Self.expectSameAnswers(dir, "garbage directory")
    }

    @Test func theWriterDropsTheFiltersOfDeletedSegments() async throws {
        let dir = try await Self.archive()
        // The oldest segments deleted, as retention deletes them.
        let gone = dir.segmentFiles().prefix(3)
        for log in gone {
            try FileManager.default.removeItem(atPath: log)
            try? FileManager.default.removeItem(atPath: String(log.dropLast(4)) + ".idx")
        }
        try await append([], to: dir, options: Self.options)
        let entries = try #require(KeySummary.entries(ofDirectory: read(Self.directoryPath(dir))))
        let bases = dir.segmentFiles().dropLast().map {
            UInt64(URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent)!
        }
        #expect(entries.map(\.baseSeq) == bases)
        let reader = try ArchiveReader(directory: dir.path)
        let all = try reader.snapshot().events()
        for order in stride(from: 0, to: 3000, by: 97) {
            let filter = EventFilter(ref: "or_\(order)")
            let scanned = all.filter { $0.entity == "or_\(order)" || $0.refs.contains("or_\(order)") }
            #expect(try reader.snapshot(for: filter).events(matching: filter) == scanned)
        }
    }

    @Test func filtersHaveNoFalseNegativesAndFewFalsePositives() {
        var rng = SeededRandom(seed: 7)
        for count in [0, 1, 50, 5000] {
            let keys = (0..<count).map { _ in rng.next() } + (count > 0 ? [0] : [])  // 0: stored as 1
            let (pages, lineCount) = KeySummary.filterPages(keys: keys, baseSeq: 42, offset: 4096)
            let entry = KeySummary.Entry(baseSeq: 42, endSeq: 43, offset: 4096, lineCount: lineCount)
            #expect(pages.count % KeySummary.pageSize == 0)
            for (n, p) in stride(from: 0, to: pages.count, by: KeySummary.pageSize).enumerated() {
                let page = Array(pages[p..<(p + KeySummary.pageSize)])
                #expect(KeySummary.pageHolds(page, entry: entry, number: n))
                var other = entry
                other.baseSeq = 43
                #expect(!KeySummary.pageHolds(page, entry: other, number: n), "seeded by the base")
                other = entry
                other.offset = 8192
                #expect(!KeySummary.pageHolds(page, entry: other, number: n), "seeded by the place")
                #expect(!KeySummary.pageHolds(page, entry: entry, number: n + 1), "seeded by the page number")
            }
            let dir = TempDirectory()
            let path = dir.path + "/f"
            write(Array(repeating: 0, count: KeySummary.pageSize) + pages, to: path)
            let view = KeySummary.View(entries: [entry], filters: try! RawFile(path: path, flags: O_RDONLY))
            #expect(keys.allSatisfy { view.mayHold($0, in: entry) })
            let others = (0..<4000).map { _ in rng.next() }
            let positives = others.filter { view.mayHold($0, in: entry) }.count
            #expect(
                count == 0 ? positives == 0 : positives < 4000 * 3 / 100,
                "\(positives) false positives of 4000 at \(count) keys")
        }
    }

    /// A filter read through an entry from before the filter file was rewritten: the pages at the
    /// entry's place belong to the same segment's new filter, elsewhere. Their checksums fail (they are
    /// seeded with the place), so the lookup opens the segment rather than trust them.
    @Test func aFilterMovedInTheFileIsNotTrustedAtItsOldPlace() {
        var rng = SeededRandom(seed: 3)
        let keys = (0..<20000).map { _ in rng.next() }
        let (pages, lineCount) = KeySummary.filterPages(keys: keys, baseSeq: 42, offset: 4096)
        #expect(pages.count / KeySummary.pageSize > 2)
        let dir = TempDirectory()
        let path = dir.path + "/f"
        write(Array(repeating: 0, count: KeySummary.pageSize) + pages, to: path)
        let stale = KeySummary.Entry(baseSeq: 42, endSeq: 43, offset: 8192, lineCount: lineCount)
        let view = KeySummary.View(entries: [stale], filters: try! RawFile(path: path, flags: O_RDONLY))
        #expect(keys.allSatisfy { view.mayHold($0, in: stale) })
    }

    /// Entries whose checksums hold but whose numbers would overflow (a filter at 2^63, 2^64 - 4096, a
    /// line count past any filter) are not entries: no reader or writer traps on them.
    @Test func anEntryWithImpossibleNumbersIsIgnored() throws {
        let dir = TempDirectory()
        try FileManager.default.createDirectory(atPath: dir.logDirectory, withIntermediateDirectories: true)
        let bad = [
            KeySummary.Entry(baseSeq: 1, endSeq: 2, offset: 1 << 63, lineCount: 1),
            KeySummary.Entry(baseSeq: 3, endSeq: 4, offset: 0xFFFF_FFFF_FFFF_F000, lineCount: 1),
            KeySummary.Entry(baseSeq: 5, endSeq: 6, offset: 4096, lineCount: .max),
        ]
        let bytes = KeySummary.directoryHeader() + bad.flatMap { $0.encoded() }
        #expect(KeySummary.entries(ofDirectory: bytes) == [])
        write(
            KeySummary.filterMagic + Array(repeating: 0, count: KeySummary.pageSize - 8),
            to: dir.logDirectory + "/" + KeySummary.filterName)
        write(bytes, to: dir.logDirectory + "/" + KeySummary.directoryName)
        #expect(KeySummaryWriter(logDirectory: dir.logDirectory, sealed: [(1, 2, MemoryIndex(baseSeq: 1))]) != nil)
    }

    /// Random entries with good checksums (any offset, line count and seqs), in any order, read and
    /// probed against a small filter file: whatever they say, nothing traps, and an entry past the
    /// file's end answers "maybe".
    @Test func randomEntriesNeverTrap() throws {
        var rng = SeededRandom(seed: 99)
        let dir = TempDirectory()
        let path = dir.path + "/f"
        let (pages, _) = KeySummary.filterPages(keys: (0..<3000).map { _ in rng.next() }, baseSeq: 7, offset: 4096)
        write([UInt8](repeating: 0, count: KeySummary.pageSize) + pages, to: path)
        let file = try RawFile(path: path, flags: O_RDONLY)
        func wild() -> UInt64 {
            switch rng.next() % 4 {
            case 0: return rng.next()
            case 1: return rng.next() % 64 * 4096
            case 2: return UInt64.max - rng.next() % 8192
            default: return rng.next() % 100
            }
        }
        for _ in 0..<300 {
            var bytes = KeySummary.directoryHeader()
            for _ in 0..<Int(rng.next() % 8) {
                let e = KeySummary.Entry(
                    baseSeq: wild(), endSeq: wild(), offset: wild(), lineCount: UInt32(truncatingIfNeeded: wild()))
                bytes += e.encoded()
            }
            if rng.next() % 3 == 0 {
                bytes += (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            guard let entries = KeySummary.entries(ofDirectory: bytes) else { continue }
            #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.baseSeq < $1.baseSeq })
            let view = KeySummary.View(entries: entries, filters: file)
            for e in entries {
                let pastEnd = e.offset >= UInt64(KeySummary.pageSize + pages.count)
                for _ in 0..<5 where !view.mayHold(rng.next(), in: e) { #expect(!pastEnd) }
            }
        }
    }

    /// A frame table whose page checksums hold but with one entry out of seq order: a lookup of an
    /// event after it reads the whole table (which is refused and rebuilt from the log), not a binary
    /// search that cannot find the event's frame. And an index whose last entry points past the log
    /// is read whole too (no overflow computing where it ends).
    @Test func aFrameTableThatDoesNotHoldTogetherIsReadWhole() async throws {
        let dir = try await Self.archive()
        let path = dir.indexFiles()[1]
        let logPath = String(path.dropLast(4)) + ".log"
        let log = try RawFile(path: logPath, flags: O_RDONLY)
        let base = try IndexFile(path: path, segmentPath: logPath).baseSeq
        var index = try LogWriter.rebuildIndex(file: log, base: base, length: try log.size())
        let n = index.frames.count
        try #require(n >= 4)
        let all = try ArchiveReader(directory: dir.path).snapshot().events()
        let target = try #require(
            all.first { $0.seq >= index.frames[n - 2].firstSeq && $0.seq < index.endSeq - 1 && $0.entity != nil })
        index.frames[n / 2].header.firstSeq = index.endSeq - 1
        index.frames[n / 2].header.count = 1
        write(IndexFile.encode(index, logLength: try log.size(), createdMicros: 0), to: path)
        let filter = EventFilter(entity: target.entity!)
        #expect(
            try ArchiveReader(directory: dir.path).snapshot().events(matching: filter)
                == all.filter { $0.entity == target.entity })

        var wild = MemoryIndex(baseSeq: 1)
        wild.frames = [
            FrameInfo(
                offset: .max - 10, blockStart: .max - 10,
                header: FrameHeader(
                    compressedLength: 100, uncompressedLength: 100, firstSeq: 1, count: 1, flags: 1, minTime: 0,
                    maxTime: 0))
        ]
        wild.endSeq = 2
        let wildPath = dir.path + "/wild.idx"
        write(IndexFile.encode(wild, logLength: 1000, createdMicros: 0), to: wildPath)
        let file = try IndexFile(path: wildPath, segmentPath: dir.path + "/wild.log")
        #expect(file.lastFrameEnd == nil)
        #expect(file.frames(holding: [0]).isEmpty)
    }

    /// A filter that is wrong but checksummed (one built from an index that disagreed with its log):
    /// `check` finds it (every key of the log tested), and a damaged page; `check --repair` makes the
    /// summary again from the repaired indexes.
    @Test func checkFindsAWrongFilterAndRepairMakesTheSummaryAgain() async throws {
        let dir = try await Self.archive()
        let entries = try #require(KeySummary.entries(ofDirectory: read(Self.directoryPath(dir))))
        var bloom = read(Self.filterPath(dir))
        let e = entries[1]
        for p in 0..<e.pageCount {
            // An empty filter, checksummed for its place.
            let at = Int(e.offset) + p * KeySummary.pageSize
            var page = [UInt8](repeating: 0, count: KeySummary.pageSize)
            let crc = KeySummary.pageChecksum(page, at: 0, entry: e, page: p)
            for i in 0..<4 {
                page[KeySummary.linesPerPage * KeySummary.lineSize + i] = UInt8(
                    truncatingIfNeeded: crc >> (8 * UInt32(i)))
            }
            bloom.replaceSubrange(at..<(at + KeySummary.pageSize), with: page)
        }
        write(bloom, to: Self.filterPath(dir))
        let all = try ArchiveReader(directory: dir.path).snapshot().events()
        let target = try #require(all.first { $0.seq >= e.baseSeq && $0.seq < e.endSeq && $0.entity != nil })
        let filter = EventFilter(entity: target.entity!)
        let truth = all.filter { $0.entity == target.entity }
        #expect(
            try ArchiveReader(directory: dir.path).snapshot(for: filter).events(matching: filter) != truth,
            "the forged filter hides it")
        let found = try ArchiveCheck.run(directory: dir.path, repair: false)
        #expect(
            found.problems.contains { $0.contains(KeySummary.filterName) && $0.contains("lacks") }, "\(found.problems)")
        // A damaged page of another filter is reported too.
        var damaged = read(Self.filterPath(dir))
        damaged[Int(entries[2].offset) + 10] ^= 1
        write(damaged, to: Self.filterPath(dir))
        let both = try ArchiveCheck.run(directory: dir.path, repair: false)
        #expect(both.problems.contains { $0.contains("fails its checksum in page 0") }, "\(both.problems)")
        #expect(try ArchiveCheck.run(directory: dir.path, repair: true).isClean)
        #expect(try ArchiveReader(directory: dir.path).snapshot(for: filter).events(matching: filter) == truth)
    }
}
