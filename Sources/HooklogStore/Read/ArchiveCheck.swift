/// Verifies an archive end to end: every frame's checksum, seq continuity within and across segments,
/// and every index file against an index rebuilt from the log. With `repair`, it fixes what can be fixed.
public enum ArchiveCheck {
    /// What a check found.
    public struct Report: Sendable {
        /// Each problem, naming its file and offset.
        public var problems: [String] = []
        /// What `repair` did.
        public var repairs: [String] = []
        public var segments = 0
        public var frames = 0
        public var events = 0
        /// Whether the archive is clean (after repairs, when repairing).
        public var isClean: Bool { problems.isEmpty }
    }

    /// Checks the archive in `directory`.
    ///
    /// - Parameters:
    ///   - repair: cut a torn tail and rebuild indexes that are missing, damaged or wrong. Needs the writer
    ///     lock: refused while `hooklog serve` runs on the directory. Damaged frames in sealed segments
    ///     cannot be repaired (their events are gone); they stay reported and readers skip them.
    ///   - progress: called after each segment with (segments done, segments in all).
    /// - Throws: `StoreError` when the directory is not an archive, or is locked and `repair` was asked.
    public static func run(
        directory: String, repair: Bool, progress: ((Int, Int) -> Void)? = nil
    ) throws(StoreError) -> Report {
        let logDirectory = directory + "/log"
        guard FileSystem.isDirectory(logDirectory) else {
            throw StoreError(.notFound, "no archive at \(directory): pass the right --data", path: directory)
        }
        if repair {
            // The writer lock before anything is removed: never from under a running `serve`. Released
            // before the store below takes it again (a flock is per open file); a writer that starts in
            // between finds the same derived files missing and rebuilds them itself.
            let lock = try DirectoryLock(directory: directory)
            var report = try inspect(logDirectory: logDirectory, writerRunning: false, progress: progress)
            let fixable = report.problems
            for base in report.badIndexes {
                try FileSystem.remove(logDirectory + "/" + SegmentName.index(base))
            }
            // The key summary is derived from the indexes: made again from the repaired ones.
            for name in [KeySummary.directoryName, KeySummary.filterName]
            where FileSystem.fileSize(logDirectory + "/" + name) != nil {
                try FileSystem.remove(logDirectory + "/" + name)
            }
            lock.release()
            // Opening the writer does the repairs: it cuts a torn tail, rebuilds missing indexes and the
            // key summary.
            let store = try ArchiveStore.open(directory: directory)
            store.close()
            report = try inspect(logDirectory: logDirectory, writerRunning: false, progress: nil)
            var result = report.report
            result.repairs = fixable.filter { !report.report.problems.contains($0) }
            return result
        }
        return try inspect(
            logDirectory: logDirectory, writerRunning: DirectoryLock.isHeld(directory: directory), progress: progress
        ).report
    }

    private struct Inspection {
        var report = Report()
        var badIndexes: [UInt64] = []
        var problems: [String] { report.problems }
    }

    private static func inspect(
        logDirectory: String, writerRunning: Bool, progress: ((Int, Int) -> Void)?
    ) throws(StoreError) -> Inspection {
        var out = Inspection()
        let bases = try FileSystem.list(logDirectory).compactMap(SegmentName.baseSeq(ofLog:)).sorted()
        let mark = writerRunning ? CommitMark.read(logDirectory: logDirectory) : nil
        var expected: UInt64? = nil
        let summary = KeySummary.View(logDirectory: logDirectory)
        for (n, base) in bases.enumerated() {
            let path = logDirectory + "/" + SegmentName.log(base)
            let isLast = n == bases.count - 1
            guard let file = try? RawFile(path: path, flags: O_RDONLY_), let size = try? file.size() else { continue }
            if mark != nil && base > mark!.segmentBase { continue }  // created, nothing committed yet
            out.report.segments += 1
            if size < UInt64(FileHeader.size) {
                out.report.problems.append("\(path): shorter than its header (\(size) bytes)")
                continue
            }
            var header: FileHeader?
            do {
                header = try FileHeader.decode(try file.read(at: 0, count: FileHeader.size), kind: .segment, path: path)
            } catch {
                out.report.problems.append(error.message)
                // A damaged header does not stop the frames after it being read (each has its own
                // checksum), as the store reads them; another format version does.
                if error.code != .corrupt { continue }
            }
            let layout: SegmentDictionary.Layout
            do {
                layout = try SegmentDictionary.layout(file: file, header: header, checkingBothCopies: true)
            } catch {
                out.report.problems.append(error.message)
                continue
            }
            if header != nil, let problem = layout.problem { out.report.problems.append("\(path): \(problem)") }
            if layout.oneCopyDamaged {
                // One copy serves; the other is worth knowing about (`check --repair` does not rewrite it).
                out.report.problems.append(
                    "\(path): one of the two copies of the segment's dictionary is damaged (the other is used)")
            }
            var indexer = SegmentIndexer(baseSeq: base, path: path, layout: layout, resync: !isLast)
            let limit = mark.map { $0.segmentBase == base ? min($0.offset, size) : size } ?? size
            try indexer.advance(file: file, limit: limit)
            let index = indexer.index
            if let expected, expected != base {
                // (`expected` is 0 after an empty segment named 0: there is no seq before it.)
                let before = expected > 0 ? "ends at \(expected - 1)" : "holds no event"
                out.report.problems.append("\(path): starts at seq \(base) but the segment before \(before)")
            }
            expected = index.endSeq
            out.report.frames += index.frames.count
            out.report.events += index.eventCount
            for d in index.damage { out.report.problems.append(d.description) }
            if indexer.tailLength > 0 && !(isLast && indexer.tailIsZero) {
                let what =
                    isLast ? "a torn tail (an interrupted write)" : "unreadable bytes at the end of a sealed segment"
                out.report.problems.append(
                    "\(path) at offset \(indexer.scannedEnd): \(indexer.tailLength) bytes of \(what) (\(indexer.tailReason ?? "incomplete"))"
                )
            }
            if !isLast {
                let indexPath = logDirectory + "/" + SegmentName.index(base)
                do {
                    let stored = try IndexFile(path: indexPath, segmentPath: path)
                    if let offset = stored.firstDamagedOffset() {
                        // Opening checks only the pages it reads: a check reads them all.
                        out.report.problems.append(
                            "\(indexPath): checksum mismatch in the page at body offset \(offset)")
                        out.badIndexes.append(base)
                    } else if let problem = stored.framesProblem() {
                        out.report.problems.append("\(indexPath): \(problem)")
                        out.badIndexes.append(base)
                    } else if let mismatch = compare(stored, index, logLength: size) {
                        out.report.problems.append("\(indexPath): \(mismatch)")
                        out.badIndexes.append(base)
                    }
                } catch {
                    out.report.problems.append(
                        error.code == .notFound ? "\(indexPath) is missing" : error.message)
                    out.badIndexes.append(base)
                }
                if let summary, let problem = summaryProblem(summary, base: base, nextBase: bases[n + 1], index: index)
                {
                    out.report.problems.append("\(logDirectory)/\(KeySummary.filterName): \(problem)")
                }
            }
            progress?(n + 1, bases.count)
        }
        return out
    }

    /// Why the key summary's filter of the segment at `base` cannot serve lookups (damaged, or missing
    /// a key of `index`, the index rebuilt from the log), or nil if it can or there is none to trust
    /// (no entry, or one readers ignore: the writer adds a filter then).
    static func summaryProblem(
        _ summary: KeySummary.View, base: UInt64, nextBase: UInt64, index: MemoryIndex
    ) -> String? {
        guard let entry = summary.entry(baseSeq: base), entry.endSeq == nextBase else { return nil }
        let name = SegmentName.log(base)
        switch summary.wholeFilter(entry) {
        case .failure(let error):
            return "the filter of \(name) fails its checksum in page \(error.page) (run `hooklog check --repair`)"
        case .success(let bytes):
            let lineCount = Int(entry.lineCount)
            let missing = (index.summaryKeys() ?? []).filter { key in
                let k = KeySummary.normalize(key)
                let line = KeySummary.line(of: k, lineCount: lineCount)
                return !KeySummary.bitsSet(
                    k, line: line, in: bytes, pageStart: line / KeySummary.linesPerPage * KeySummary.pageSize)
            }.count
            return missing == 0
                ? nil
                : "the filter of \(name) lacks \(missing) keys of its log: lookups would miss events (run `hooklog check --repair`)"
        }
    }

    /// Why an index file disagrees with the index rebuilt from its log, or nil if it agrees.
    static func compare(_ stored: IndexFile, _ rebuilt: MemoryIndex, logLength: UInt64) -> String? {
        if stored.logLength != logLength {
            return "built for a log of \(stored.logLength) bytes, the log has \(logLength)"
        }
        if stored.baseSeq != rebuilt.baseSeq || stored.endSeq != rebuilt.endSeq {
            return "covers other seqs than its log"
        }
        if stored.frames != rebuilt.frames { return "its frame table differs from the log's frames" }
        for key in rebuilt.table.allKeys where stored.postings(key) != rebuilt.table.postings(key) {
            return "postings of key \(String(key, radix: 16)) differ from the log"
        }
        for kind in [IndexKey.Kind.account, .source, .type] {
            let a = stored.names(kind).sorted { $0.name < $1.name }
            let b = rebuilt.names(kind).sorted { $0.name < $1.name }
            if a.map(\.name) != b.map(\.name) || a.map(\.count) != b.map(\.count) {
                return "its names differ from the log"
            }
        }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
private let O_RDONLY_ = O_RDONLY
#endif
