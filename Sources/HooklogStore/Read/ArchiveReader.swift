import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One segment as a snapshot sees it: its log and its index.
struct SegmentView: Sendable {
    var file: RawFile
    var index: any SegmentIndex
}

/// Reads an archive, in the writer's process or any other, without ever blocking the writer.
///
/// Each `snapshot()` takes an immutable view: the sealed segments (with their mapped index files) and the
/// active segment up to the writer's commit mark — every acknowledged event, and no event that is written
/// but not yet durable. Sealed segments and the active segment's index are cached between snapshots, so a
/// new snapshot only reads what was appended since the last one.
public final class ArchiveReader: Sendable {
    /// The data directory.
    public let directory: String
    let logDirectory: String

    private struct Tail {
        var base: UInt64
        var file: RawFile
        /// The part of the segment a checkpoint index covers, if the writer left one at a clean close.
        var prefix: SegmentView?
        var indexer: SegmentIndexer
    }

    private struct State {
        /// The sealed segments opened so far, by base seq, ascending. An array, not a `[UInt64: …]`: the
        /// first dictionary keyed by `UInt64` in a process has the run-time scan every conformance record
        /// of the binary for `UInt64: Hashable` (0.15 ms of a cold `hooklog query`).
        var sealed: [(base: UInt64, view: SegmentView)] = []
        var tail: Tail?

        /// The opened segment with base seq `base`, if any.
        func sealedView(_ base: UInt64) -> SegmentView? {
            var (lo, hi) = (0, sealed.count)
            while lo < hi {
                let mid = (lo + hi) / 2
                if sealed[mid].base < base { lo = mid + 1 } else { hi = mid }
            }
            return lo < sealed.count && sealed[lo].base == base ? sealed[lo].view : nil
        }
    }

    private let state = Mutex(State())

    /// Opens a reader over the archive in `directory`.
    ///
    /// - Throws: `StoreError.notFound` when there is no archive there.
    public init(directory: String) throws(StoreError) {
        self.directory = directory
        logDirectory = directory + "/log"
        guard FileSystem.isDirectory(logDirectory) else {
            throw StoreError(
                .notFound,
                "no archive at \(directory): start `hooklog serve --data \(directory)` first, or pass the right --data",
                path: directory)
        }
    }

    /// Bytes the archive takes on disk: logs, indexes and the commit mark.
    public func diskUsage() throws(StoreError) -> UInt64 {
        try FileSystem.list(logDirectory).reduce(0) { $0 + (FileSystem.fileSize(logDirectory + "/" + $1) ?? 0) }
    }

    /// A consistent view of the archive as of now.
    public func snapshot() throws(StoreError) -> ArchiveSnapshot {
        try snapshot(skipping: nil)
    }

    /// A view for reading the events that match `filter`: as `snapshot()`, except that the sealed
    /// segments the archive's key summary rules out (none of their events has `filter`'s entity or ref)
    /// are left out, never opened. Its counts (`eventCount`, `firstSeq`...) describe only the segments it
    /// holds; its `endSeq` is at least the active segment's base seq. Without an entity or ref in
    /// `filter`, or without a usable summary, it is `snapshot()`.
    public func snapshot(for filter: EventFilter) throws(StoreError) -> ArchiveSnapshot {
        var keys: [UInt64] = []
        if let entity = filter.entity { keys.append(IndexKey.of(.entity, entity)) }
        if let ref = filter.ref { keys.append(IndexKey.of(.ref, ref)) }
        guard !keys.isEmpty, let summary = KeySummary.View(logDirectory: logDirectory) else { return try snapshot() }
        return try snapshot { base, nextBase in
            // Trusted only for the segment as it is: the same base, ending where the next one begins.
            guard let entry = summary.entry(baseSeq: base), entry.endSeq == nextBase else { return false }
            return keys.contains { !summary.mayHold($0, in: entry) }
        }
    }

    /// `snapshot()`, leaving out the sealed segments (by base seq and the next segment's base) for
    /// which `skip` says so.
    private func snapshot(skipping skip: ((UInt64, UInt64) -> Bool)?) throws(StoreError) -> ArchiveSnapshot {
        // The mark first, then the listing: the writer creates a segment before any mark names it, so the
        // listing always holds the segment the mark points to.
        let writerLive = DirectoryLock.isHeld(directory: directory)
        let mark = writerLive ? CommitMark.read(logDirectory: logDirectory) : nil
        // With a live writer, the active segment is read up to its mark and no further; with no readable
        // mark (the writer is still recovering) nothing past what was read before.
        let activeLimit: UInt64? = writerLive ? (mark?.offset ?? 0) : nil
        let bases = try FileSystem.list(logDirectory).compactMap(SegmentName.baseSeq(ofLog:)).sorted()
        guard let activeBase = mark?.segmentBase ?? bases.last else {
            return ArchiveSnapshot(segments: [])
        }
        return try state.withLock { (s) throws(StoreError) -> ArchiveSnapshot in
            var views: [SegmentView] = []
            var opened: [(base: UInt64, view: SegmentView)] = []
            for (i, base) in bases.enumerated() where base < activeBase {
                let skipped = skip?(base, i + 1 < bases.count ? bases[i + 1] : activeBase) ?? false
                if let cached = s.sealedView(base) {
                    if !skipped { views.append(cached) }
                    opened.append((base, cached))  // stays cached either way
                    continue
                }
                if skipped { continue }
                if let tail = s.tail, tail.base == base, tail.prefix == nil,
                    (try? IndexFile(path: logDirectory + "/" + SegmentName.index(base), segmentPath: tail.file.path))
                        == nil
                {
                    // Sealed since the last look but its index is not there: finish scanning it ourselves.
                    var indexer = tail.indexer
                    try indexer.advance(file: tail.file, limit: try tail.file.size())
                    let view = SegmentView(file: tail.file, index: indexer.index)
                    opened.append((base, view))
                    views.append(view)
                    continue
                }
                do throws(StoreError) {
                    let segment = try LogWriter.openSealed(logDirectory: logDirectory, base: base, writable: false)
                    let view = SegmentView(file: segment.file, index: segment.index)
                    opened.append((base, view))
                    views.append(view)
                } catch  where error.code == .notFound {
                    continue  // deleted by retention since the listing
                }
            }
            // In base order, as `bases`; segments gone from the listing drop out. (After the loop: a
            // throw above leaves the cache as it was.)
            s.sealed = opened
            // A view that left sealed segments out still ends where they do.
            let floor = skip == nil ? 1 : activeBase
            let activePath = logDirectory + "/" + SegmentName.log(activeBase)
            guard bases.contains(activeBase) else { return ArchiveSnapshot(segments: views, endSeqFloor: floor) }
            if s.tail?.base != activeBase {
                let file = try RawFile(path: activePath, flags: O_RDONLY)
                let header = try file.read(at: 0, count: FileHeader.size)
                guard header.count == FileHeader.size else {
                    return ArchiveSnapshot(segments: views, endSeqFloor: floor)
                }
                // A damaged header only names the file: its frames are read all the same (the writer
                // writes it anew when it opens), as for a sealed segment. Another version is refused.
                let decoded: FileHeader?
                do throws(StoreError) {
                    decoded = try FileHeader.decode(header, kind: .segment, path: activePath)
                } catch  where error.code == .corrupt {
                    decoded = nil
                }
                var prefix: SegmentView? = nil
                // The active segment ends at its first bad frame, as recovery will cut it (see `resync`).
                var indexer = SegmentIndexer(
                    baseSeq: activeBase, path: activePath,
                    layout: try SegmentDictionary.layout(file: file, header: decoded),
                    resync: false)
                if let checkpoint = try? IndexFile(
                    path: logDirectory + "/" + SegmentName.index(activeBase), segmentPath: activePath),
                    checkpoint.baseSeq == activeBase, checkpoint.lastFrameEnd == checkpoint.logLength,
                    checkpoint.logLength <= min(try file.size(), activeLimit ?? .max)
                {
                    prefix = SegmentView(file: file, index: checkpoint)
                    indexer = SegmentIndexer(
                        baseSeq: checkpoint.endSeq, path: activePath, start: checkpoint.logLength, resync: false)
                }
                s.tail = Tail(base: activeBase, file: file, prefix: prefix, indexer: indexer)
            }
            let limit = min(try s.tail!.file.size(), activeLimit ?? .max)
            try s.tail!.indexer.advance(file: s.tail!.file, limit: limit)
            if let prefix = s.tail!.prefix { views.append(prefix) }
            if !s.tail!.indexer.index.frames.isEmpty || s.tail!.prefix == nil {
                views.append(SegmentView(file: s.tail!.file, index: s.tail!.indexer.index))
            }
            return ArchiveSnapshot(segments: views, endSeqFloor: floor)
        }
    }
}
