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
        + [EventFilter(ref: "SKU-3"), EventFilter(ref: "cu_1"), EventFilter(entity: "or_0", ref: "SKU-0"),
           EventFilter(entity: "x2999-3"), EventFilter(entity: "absent"), EventFilter(ref: "absent"),
           EventFilter(account: "acme", ref: "or_1500")]

    /// Every filter answers through `snapshot(for:)` what a scan of every event finds.
    static func expectSameAnswers(_ dir: TempDirectory, _ comment: Comment? = nil) throws {
        let all = try ArchiveReader(directory: dir.path).snapshot().events()
        try #require(all.count == 6000)
        for filter in filters {
            let scanned = all.filter { e in
                (filter.entity.map { e.entity == $0 } ?? true) && (filter.ref.map { e.entity == $0 || e.refs.contains($0) } ?? true)
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
                #expect(positions.allSatisfy { $0 != nil } && zip(positions, positions.dropFirst()).allSatisfy { $0! < $1! })
                for (k, f) in sub.enumerated() where !f.header.startsBlock {
                    #expect(k > 0 && positions[k - 1]! == positions[k]! - 1, "a block's earlier frames come with it")
                }
                let base = all.first!.firstSeq
                for o in ordinals {
                    #expect(sub.contains { $0.firstSeq <= base + UInt64(o) && base + UInt64(o) < $0.endSeq }, "ordinal \(o) in \(path)")
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
            opened += try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "or_\(order)")).segmentCount
        }
        #expect(opened <= 81 * 3 + 8, "\(opened) segments opened for 81 lookups of \(sealed + 1)")
        // Keys in every segment (a SKU) and filters without an entity or ref open them all.
        #expect(try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(ref: "SKU-3")).segmentCount == sealed + 1)
        #expect(try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(type: "order.created")).segmentCount == sealed + 1)
        #expect(try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "absent")).segmentCount <= 3)
    }

    @Test func aMissingSummaryIsMadeAgainWhenTheWriterOpens() async throws {
        let dir = try await Self.archive()
        let before = read(Self.directoryPath(dir))
        try FileManager.default.removeItem(atPath: Self.directoryPath(dir))
        try FileManager.default.removeItem(atPath: Self.filterPath(dir))
        // Without it, every segment is opened, and the answers are the same.
        #expect(try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "or_4")).segmentCount == dir.segmentFiles().count)
        try Self.expectSameAnswers(dir)
        try await append([], to: dir, options: Self.options)
        let after = try #require(KeySummary.entries(ofDirectory: read(Self.directoryPath(dir))))
        #expect(after == KeySummary.entries(ofDirectory: before), "the same filters, at the same places")
        #expect(try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "or_4")).segmentCount <= 3)
        try Self.expectSameAnswers(dir)
    }

    @Test func aDamagedSummaryCostsSpeedNeverAnEvent() async throws {
        let dir = try await Self.archive()
        let sealed = dir.segmentFiles().count - 1
        var filters = read(Self.filterPath(dir))
        // Every page of every filter with a bit flipped in its lines: each fails its checksum.
        for page in stride(from: KeySummary.pageSize, to: filters.count, by: KeySummary.pageSize) { filters[page + 100] ^= 0x04 }
        write(filters, to: Self.filterPath(dir))
        #expect(try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "absent")).segmentCount == sealed + 1)
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
        #expect(try ArchiveReader(directory: dir.path).snapshot(for: EventFilter(entity: "absent")).segmentCount == sealed + 1)
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
        let bases = dir.segmentFiles().dropLast().map { UInt64(URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent)! }
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
            let (pages, lineCount) = KeySummary.filterPages(keys: keys, baseSeq: 42)
            #expect(pages.count % KeySummary.pageSize == 0)
            for p in stride(from: 0, to: pages.count, by: KeySummary.pageSize) {
                #expect(KeySummary.pageHolds(Array(pages[p..<(p + KeySummary.pageSize)]), baseSeq: 42))
                #expect(!KeySummary.pageHolds(Array(pages[p..<(p + KeySummary.pageSize)]), baseSeq: 43), "seeded by the base")
            }
            let dir = TempDirectory()
            let path = dir.path + "/f"
            write(Array(repeating: 0, count: KeySummary.pageSize) + pages, to: path)
            let view = KeySummary.View(
                entries: [.init(baseSeq: 42, endSeq: 43, offset: UInt64(KeySummary.pageSize), lineCount: lineCount)],
                filters: try! RawFile(path: path, flags: O_RDONLY))
            let entry = view.entries[0]
            #expect(keys.allSatisfy { view.mayHold($0, in: entry) })
            let others = (0..<4000).map { _ in rng.next() }
            let positives = others.filter { view.mayHold($0, in: entry) }.count
            #expect(count == 0 ? positives == 0 : positives < 4000 * 3 / 100, "\(positives) false positives of 4000 at \(count) keys")
        }
    }
}
