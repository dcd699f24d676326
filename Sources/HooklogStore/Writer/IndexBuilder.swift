import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the active segment's full index off the writer's path, on its own thread, and writes each
/// sealed segment's index file.
///
/// The writer indexes only what dedupe needs (event IDs and body digests); everything else (account,
/// source, type, entity, refs) is indexed here from the same record bytes, in the same order. When the
/// writer seals a segment, the builder writes its `.idx` and publishes the mapped file, which the
/// writer then swaps in for its own light index of that segment.
final class IndexBuilder: Sendable {
    enum Job: Sendable {
        /// Start indexing a segment, from an index recovery already built (or an empty one).
        case adopt(MemoryIndex)
        /// Frames the writer just wrote, with their uncompressed records.
        case frames([(FrameInfo, [UInt8])])
        /// The segment is complete at this length: write its index file.
        case seal(logLength: UInt64, logPath: String, nextBase: UInt64)
        /// The store is closing cleanly: write an index of the active segment as it stands, so that the
        /// next reader need not re-index it (the log only grows, so it stays valid for that prefix).
        case checkpoint(logLength: UInt64)
    }

    /// The builder's state. `@unchecked Sendable`: touched only on the builder's own thread.
    private final class Confined: @unchecked Sendable {
        var index: MemoryIndex?
    }

    final class Published: Sendable {
        let files = Mutex<[UInt64: (IndexFile, RawFile)]>([:])
    }

    private let worker: WorkerThread<Job>
    private let recompressor: WorkerThread<Recompression>?
    private let finishesRecompressionOnClose: Bool
    private let published = Published()

    /// - Parameters:
    ///   - recompressLevel: LZ4HC level for sealed segments, or nil to keep them as written.
    ///   - recompressionBacklog: how many sealed segments may wait for recompression.
    ///   - finishesRecompressionOnClose: whether `close` waits for queued recompressions or drops them.
    init(
        logDirectory: String, blockSize: Int, recompressLevel: Int32?, recompressionBacklog: Int,
        finishesRecompressionOnClose: Bool
    ) {
        self.finishesRecompressionOnClose = finishesRecompressionOnClose
        let confined = Confined()
        let published = self.published
        let recompressor = recompressLevel.map { _ in
            WorkerThread<Recompression>(name: "hooklog-recomp", niceness: 10) { jobs in
                for job in jobs {
                    Self.recompress(job, blockSize: blockSize, logDirectory: logDirectory, published: published)
                }
            }
        }
        self.recompressor = recompressor
        worker = WorkerThread(name: "hooklog-index") { jobs in
            for job in jobs {
                switch job {
                case .adopt(let index):
                    confined.index = index
                case .frames(let frames):
                    for (frame, records) in frames {
                        // The writer encoded these records itself: they parse.
                        try? confined.index?.add(frame: frame, block: records, start: 0)
                    }
                case .checkpoint(let logLength):
                    guard let index = confined.index, !index.frames.isEmpty else { continue }
                    let bytes = IndexFile.encode(index, logLength: logLength, createdMicros: currentMicros())
                    try? FileSystem.writeAtomically(
                        bytes, to: logDirectory + "/" + SegmentName.index(index.baseSeq), directory: logDirectory)
                case .seal(let logLength, let logPath, let nextBase):
                    guard let index = confined.index else { continue }
                    confined.index = MemoryIndex(baseSeq: nextBase)
                    // The index of the segment as written, at once: readers and the writer get it now.
                    Self.writeIndex(index, logLength: logLength, logPath: logPath, logDirectory: logDirectory, published: published)
                    // LZ4HC on a thread of its own, at low priority, so indexing never waits behind it
                    // (its records would pile up in memory). Under a backlog a segment stays fast LZ4.
                    if let level = recompressLevel, let recompressor, recompressor.backlog < recompressionBacklog {
                        recompressor.enqueue(Recompression(index: index, logPath: logPath, level: level))
                    }
                }
            }
        }
    }

    /// A sealed segment to rewrite with LZ4HC.
    struct Recompression: Sendable {
        var index: MemoryIndex
        var logPath: String
        var level: Int32
    }

    /// Rewrites a sealed segment with LZ4HC and replaces its index file.
    private static func recompress(
        _ job: Recompression, blockSize: Int, logDirectory: String, published: Published
    ) {
        // The index written at seal describes the log before recompression: it must not outlive the
        // rename below, even across a crash (a missing index is rebuilt on open).
        let path = logDirectory + "/" + SegmentName.index(job.index.baseSeq)
        guard (try? FileSystem.remove(path)) != nil, (try? FileSystem.syncDirectory(logDirectory)) != nil else { return }
        var index = job.index
        var length = job.index.frames.last?.end ?? UInt64(FileHeader.size)
        if let (rewritten, newLength) = try? SegmentRecompressor.recompress(
            path: job.logPath, index: index, blockSize: blockSize, level: job.level)
        {
            (index, length) = (rewritten, newLength)
        }
        writeIndex(index, logLength: length, logPath: job.logPath, logDirectory: logDirectory, published: published)
    }

    /// Writes a sealed segment's index file and publishes it with its log for the writer to adopt.
    private static func writeIndex(
        _ index: MemoryIndex, logLength: UInt64, logPath: String, logDirectory: String, published: Published
    ) {
        let path = logDirectory + "/" + SegmentName.index(index.baseSeq)
        let bytes = IndexFile.encode(index, logLength: logLength, createdMicros: currentMicros())
        // On failure (disk full) the segment simply has no index file yet: the writer rebuilds it on
        // the next open, readers in memory meanwhile.
        if (try? FileSystem.writeAtomically(bytes, to: path, directory: logDirectory)) != nil,
            let file = try? IndexFile(path: path, segmentPath: logPath),
            let log = try? RawFile(path: logPath, flags: O_RDONLY)
        {
            published.files.withLock { $0[index.baseSeq] = (file, log) }
        }
    }

    func enqueue(_ job: Job) { worker.enqueue(job) }

    /// Index files written since the last call, with their (possibly recompressed) logs, by base seq.
    func takePublished() -> [UInt64: (IndexFile, RawFile)] {
        published.files.withLock { p in
            defer { p.removeAll() }
            return p
        }
    }

    /// Finishes indexing; a recompression under way completes; queued ones are dropped (those segments
    /// stay fast LZ4, as valid) unless the options ask to finish them.
    func close() {
        worker.close()
        recompressor?.close(discardingPending: !finishesRecompressionOnClose)
    }
}
