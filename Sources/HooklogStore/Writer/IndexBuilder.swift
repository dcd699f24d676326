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

    private final class Published: Sendable {
        let files = Mutex<[UInt64: (IndexFile, RawFile)]>([:])
    }

    private let worker: WorkerThread<Job>
    private let published = Published()

    /// - Parameters:
    ///   - recompressLevel: LZ4HC level for sealed segments, or nil to keep them as written.
    init(logDirectory: String, blockSize: Int, recompressLevel: Int32?) {
        let confined = Confined()
        let published = self.published
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
                    guard var index = confined.index else { continue }
                    confined.index = MemoryIndex(baseSeq: nextBase)
                    // A checkpoint from an earlier clean close describes the log before recompression:
                    // it must not outlive the rename below, even across a crash.
                    let path = logDirectory + "/" + SegmentName.index(index.baseSeq)
                    guard (try? FileSystem.remove(path)) != nil, (try? FileSystem.syncDirectory(logDirectory)) != nil else {
                        continue
                    }
                    var length = logLength
                    if let level = recompressLevel,
                        let (rewritten, newLength) = try? SegmentRecompressor.recompress(
                            path: logPath, index: index, blockSize: blockSize, level: level)
                    {
                        (index, length) = (rewritten, newLength)
                    }
                    let bytes = IndexFile.encode(index, logLength: length, createdMicros: currentMicros())
                    // On failure (disk full) the segment simply has no index file yet: the writer
                    // rebuilds it on the next open, readers in memory meanwhile.
                    if (try? FileSystem.writeAtomically(bytes, to: path, directory: logDirectory)) != nil,
                        let file = try? IndexFile(path: path, segmentPath: logPath),
                        let log = try? RawFile(path: logPath, flags: O_RDONLY)
                    {
                        published.files.withLock { $0[index.baseSeq] = (file, log) }
                    }
                }
            }
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

    func close() { worker.close() }
}
