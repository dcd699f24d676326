import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Appends to the archive's key summary (`KeySummary`): one filter a sealed segment. Owned by the
/// writer of the data directory; the index builder's thread appends as it seals.
///
/// Nothing here can fail an append or a seal: the summary is derived data, and a segment without a
/// filter is only opened by every lookup, as before. Nothing is synced either: a filter or entry lost
/// to a crash fails its checksum and is added again on the next open.
final class KeySummaryWriter: Sendable {
    private struct State {
        var directory: RawFile
        var filters: RawFile
        var directoryEnd: UInt64
        var filtersEnd: UInt64
    }

    private let state: Mutex<State>

    /// Opens (or creates) the summary of `logDirectory` for the sealed segments `sealed`, in base order:
    /// keeps the entries that still describe one of them, and adds a filter for each that has none.
    /// Nil when the files cannot be created (a read-only directory): queries then open every segment.
    init?(logDirectory: String, sealed: [(baseSeq: UInt64, endSeq: UInt64, index: any SegmentIndex)]) {
        let directoryPath = logDirectory + "/" + KeySummary.directoryName
        let filterPath = logDirectory + "/" + KeySummary.filterName
        guard let filters = try? RawFile(path: filterPath, flags: O_RDWR | O_CREAT),
            var filterSize = try? filters.size()
        else { return nil }
        let header =
            KeySummary.filterMagic + [UInt8](repeating: 0, count: KeySummary.pageSize - KeySummary.filterMagic.count)
        /// Empties the filter file down to its first page (which it writes).
        func startOver() -> Bool {
            guard (try? filters.truncate(to: 0)) != nil, (try? filters.write(header, at: 0)) != nil else {
                return false
            }
            filterSize = UInt64(header.count)
            return true
        }
        if filterSize < UInt64(KeySummary.pageSize) || (try? filters.read(at: 0, count: header.count)) != header {
            // New, or not ours: start over (every entry pointing into it goes too).
            guard startOver() else { return nil }
            try? FileSystem.remove(directoryPath)
        }
        let old = (try? RawFile(path: directoryPath, flags: O_RDONLY)).flatMap { f in
            (try? f.size()).flatMap { try? f.read(at: 0, count: Int(min($0, UInt64(Int32.max)))) }
        }
        let parsed = old.flatMap(KeySummary.entries(ofDirectory:))
        if old != nil && parsed == nil {
            // A directory of another version (or not one): its filters go with it.
            guard startOver() else { return nil }
        }
        let found = parsed ?? []
        // An entry is kept when its filter lies inside the file and it names a sealed segment as it is.
        var kept: [KeySummary.Entry] = []
        var next = 0
        let reading = KeySummary.View(entries: found, filters: filters)
        for e in found {
            while next < sealed.count && sealed[next].baseSeq < e.baseSeq { next += 1 }
            guard next < sealed.count, sealed[next].baseSeq == e.baseSeq, sealed[next].endSeq == e.endSeq,
                e.offset + UInt64(e.pageCount * KeySummary.pageSize) <= filterSize,
                case .success = reading.wholeFilter(e)
            else { continue }  // its pages lost to a crash or damaged: made again below
            kept.append(e)
        }
        // Filters of segments retention deleted stay in the file as dead pages; once they outweigh the
        // live ones (and 1 MB), the file starts over and every filter is written again below.
        let live = kept.reduce(UInt64(0)) { $0 + UInt64($1.pageCount * KeySummary.pageSize) }
        if filterSize - UInt64(KeySummary.pageSize) > 2 * live + (1 << 20) {
            guard startOver() else { return nil }
            kept = []
        }
        var directoryBytes = KeySummary.directoryHeader()
        for e in kept { directoryBytes += e.encoded() }
        if old != directoryBytes {
            guard (try? FileSystem.writeAtomically(directoryBytes, to: directoryPath, directory: logDirectory)) != nil
            else {
                return nil
            }
        }
        guard let directory = try? RawFile(path: directoryPath, flags: O_RDWR) else { return nil }
        let aligned =
            (filterSize + UInt64(KeySummary.pageSize) - 1) / UInt64(KeySummary.pageSize) * UInt64(KeySummary.pageSize)
        state = Mutex(
            State(
                directory: directory, filters: filters, directoryEnd: UInt64(directoryBytes.count), filtersEnd: aligned)
        )
        var k = 0
        for s in sealed {
            while k < kept.count && kept[k].baseSeq < s.baseSeq { k += 1 }
            if k < kept.count && kept[k].baseSeq == s.baseSeq { continue }
            add(baseSeq: s.baseSeq, endSeq: s.endSeq, index: s.index)
        }
    }

    /// Appends the filter of a sealed segment: its pages, then its directory entry.
    func add(baseSeq: UInt64, endSeq: UInt64, index: any SegmentIndex) {
        guard endSeq > baseSeq, let keys = index.summaryKeys() else { return }
        state.withLock { s in
            guard s.filtersEnd <= KeySummary.maxOffset else { return }
            let (pages, lineCount) = KeySummary.filterPages(keys: keys, baseSeq: baseSeq, offset: s.filtersEnd)
            let entry = KeySummary.Entry(baseSeq: baseSeq, endSeq: endSeq, offset: s.filtersEnd, lineCount: lineCount)
            // Pages first: a reader that finds the entry finds them written.
            guard (try? s.filters.write(pages, at: s.filtersEnd)) != nil else { return }
            s.filtersEnd += UInt64(pages.count)
            guard (try? s.directory.write(entry.encoded(), at: s.directoryEnd)) != nil else { return }
            s.directoryEnd += UInt64(KeySummary.entrySize)
        }
    }
}
