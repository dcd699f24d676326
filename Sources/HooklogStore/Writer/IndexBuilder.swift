import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the active segment's full index off the writer's path, on its own thread, and writes each
/// sealed segment's index file (on a low-priority thread of its own).
///
/// The writer indexes only what dedupe needs (event IDs and body digests); everything else (account,
/// source, type, entity, refs) is indexed here from the same record bytes, in the same order. When the
/// writer seals a segment, the seal thread writes its `.idx` and publishes the mapped file, which the
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
        /// Free what the writer no longer uses (see `release`).
        case release([SealedSegment])
    }

    /// The builder's state. `@unchecked Sendable`: touched only on the builder's own thread.
    private final class Confined: @unchecked Sendable {
        var index: MemoryIndex?
    }

    final class Published: Sendable {
        let files = Mutex<[UInt64: (IndexFile, RawFile)]>([:])
    }

    /// What the recompression thread is asked to do.
    enum RecompressionJob: Sendable {
        /// A segment just sealed, with the index the builder made of it.
        case sealed(Recompression)
        /// Take the next segment of `catchUp` (sealed while a backlog kept it fast LZ4, or before a
        /// restart): queued behind new seals, one segment at a time, so it only runs when idle.
        case catchUp
    }

    /// A weak reference to the recompression thread, for its own handler.
    struct WeakWorker: Sendable {
        weak var worker: WorkerThread<RecompressionJob>?
    }

    /// Sealed segments left fast LZ4, and which segment is being rewritten: shared by the recompression
    /// thread and the writer (whose retention must not delete a segment while it is rewritten, or the
    /// rename of the rewritten log would bring it back).
    final class Rewrites: Sendable {
        struct State {
            var waiting: [(base: UInt64, logPath: String)] = []
            var busy: UInt64?
        }
        let state = Mutex(State())
    }

    /// A segment the index thread has finished indexing, for the seal thread to write out.
    struct Seal: Sendable {
        var index: MemoryIndex
        var logLength: UInt64
        var logPath: String
        var nextBase: UInt64
    }

    private let worker: WorkerThread<Job>
    /// Writes each sealed segment's index file and key summary filter, at low priority (see `init`).
    private let sealer: WorkerThread<Seal>
    private let recompressor: WorkerThread<RecompressionJob>?
    private let rewrites = Rewrites()
    private let finishesRecompressionOnClose: Bool
    private let published = Published()
    /// Ingest's load: recompression waits while it is busy.
    private let load: IngestLoad
    /// The archive's key summary, once the writer has opened it (`attachSummary`).
    private let summary = SummarySlot()

    /// Where the builder finds the key summary writer: set once, after the sealed segments are open.
    final class SummarySlot: Sendable {
        let writer = Mutex<KeySummaryWriter?>(nil)
    }

    /// Gives the builder the key summary to append each sealed segment's filter to.
    func attachSummary(_ writer: KeySummaryWriter?) {
        summary.writer.withLock { $0 = writer }
    }

    /// - Parameters:
    ///   - recompressLevel: LZ4HC level for sealed segments, or nil to keep them as written.
    ///   - recompressionBacklog: how many sealed segments may wait for recompression.
    ///   - finishesRecompressionOnClose: whether `close` waits for queued recompressions or drops them.
    init(
        logDirectory: String, blockSize: Int, recompressLevel: Int32?, recompressionBacklog: Int, load: IngestLoad,
        finishesRecompressionOnClose: Bool
    ) {
        self.finishesRecompressionOnClose = finishesRecompressionOnClose
        self.load = load
        let confined = Confined()
        let published = self.published
        let rewrites = self.rewrites
        let summary = self.summary
        // The thread enqueues its own next catch-up step: it is created first, handed its queue after,
        // weakly (a strong one would keep the thread's owner alive from its own handler).
        let catchUpQueue = Mutex(WeakWorker())
        // LZ4HC is seconds of CPU a segment: in the idle class, like the seal thread (see below), so that it
        // never takes the CPU from ingest (at nice 10, one running beside paced ingest at 9k req/s, under
        // the `IngestLoad` threshold, put 4757 of the 5400 requests a traced run saw of it over 4 ms).
        let recompressor = recompressLevel.map { level in
            WorkerThread<RecompressionJob>(name: "hooklog-recomp", niceness: 10, idle: true) { jobs in
                var catchUp = false
                for job in jobs {
                    switch job {
                    case .sealed(let job) where load.isBusy(now: currentMicros()):
                        // Ingest needs the CPU: recompressed from its log once it is quiet.
                        rewrites.state.withLock { $0.waiting.append((job.index.baseSeq, job.logPath)) }
                        catchUp = true
                    case .sealed(let job):
                        Self.recompress(
                            job, blockSize: blockSize, logDirectory: logDirectory, published: published,
                            rewrites: rewrites)
                    case .catchUp:
                        catchUp = true
                    }
                }
                guard catchUp else { return }
                while true {
                    load.waitWhileBusy(step: 500)
                    let more = Self.catchUpOne(
                        level: level, blockSize: blockSize, logDirectory: logDirectory, published: published,
                        rewrites: rewrites)
                    // One segment a step, so that a segment sealed meanwhile is not kept waiting; once the
                    // thread is closing it takes no new step, and a close that finishes recompression
                    // (`finishesRecompressionOnClose`) finishes the catch-up here, every segment of it.
                    guard more else { break }
                    if catchUpQueue.withLock({ $0.worker?.enqueue(.catchUp) }) == true || !finishesRecompressionOnClose
                    {
                        break
                    }
                }
            }
        }
        catchUpQueue.withLock { $0.worker = recompressor }
        self.recompressor = recompressor
        // Writing a sealed segment's index takes a third of a second of CPU for a 64 MB segment of
        // 1-event requests (400k events, an 18 MB file; a second before `PostingTable.sorted`), and ingest
        // goes on meanwhile. On the index thread it took one of a 2-core machine's cores from the
        // server: the one stretch of each segment where acknowledgements waited 5-20 ms, most of the
        // ingest benchmark's paced p99. At nice 10 it still did (4 paced runs at 10.4k req/s, the 650 ms
        // after each roll: 911-3560 of 6760 requests over 4 ms); in the idle scheduling class, which
        // gives up the CPU the moment a server thread wants it, 8-575 (p99 over the whole run 2.9-4.8 ms
        // against 6.1-9.8). It still runs at the closed-loop peak (both cores busy): a seal took 0.5 s
        // there, as the threads' waits on the disk leave the CPU idle in between. Until the file is
        // written, the writer keeps its own light index of the segment for dedupe and readers index the
        // sealed log themselves; the index thread goes straight on with the next segment.
        let writeSeal: @Sendable (Seal) -> Void = { seal in
            let index = seal.index
            // Gone already (retention, at a tiny `maxBytes`): nothing to index.
            guard FileSystem.fileSize(seal.logPath) != nil else { return }
            // The index of the segment as written: readers and the writer get it now.
            Self.writeIndex(
                index, logLength: seal.logLength, logPath: seal.logPath, logDirectory: logDirectory,
                published: published)
            // Then its filter in the key summary: lookups of other keys skip the segment from now on.
            summary.writer.withLock { $0 }?.add(baseSeq: index.baseSeq, endSeq: seal.nextBase, index: index)
            // LZ4HC on a thread of its own, one segment at a time. Under a backlog a segment stays fast
            // LZ4 until the thread is idle (then its index is rebuilt from the log: memory stays flat).
            if let level = recompressLevel, let recompressor, recompressor.backlog < recompressionBacklog,
                !load.isBusy(now: currentMicros())
            {
                recompressor.enqueue(.sealed(Recompression(index: index, logPath: seal.logPath, level: level)))
            } else if recompressLevel != nil {
                // Not now (a backlog, or ingest busy): when the thread is idle and ingest quiet (`catchUp`).
                rewrites.state.withLock { $0.waiting.append((index.baseSeq, seal.logPath)) }
                recompressor?.enqueue(.catchUp)
            }
        }
        let sealer = WorkerThread<Seal>(name: "hooklog-seal", niceness: 10, idle: true) { seals in
            for seal in seals { writeSeal(seal) }
        }
        self.sealer = sealer
        worker = WorkerThread(name: "hooklog-index", gathering: .milliseconds(20)) { jobs in
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
                        bytes, to: logDirectory + "/" + SegmentName.index(index.baseSeq), directory: logDirectory,
                        uncached: true)
                case .seal(let logLength, let logPath, let nextBase):
                    guard let index = confined.index else { continue }
                    confined.index = MemoryIndex(baseSeq: nextBase)
                    let seal = Seal(index: index, logLength: logLength, logPath: logPath, nextBase: nextBase)
                    if !sealer.isIdle {
                        // The seal thread has not finished the previous seal: a CPU with no idle moment
                        // for it. Written here, at normal priority, so that seals (each holding a whole
                        // segment's index) never pile up in memory. (Its key summary entry may then come
                        // before the previous one's: the summary sorts its entries when it is read.)
                        writeSeal(seal)
                    } else {
                        sealer.enqueue(seal)
                    }
                case .release(let segments):
                    _ = segments  // freed here, with the job
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

    /// Rewrites a sealed segment with LZ4HC and replaces its index file; nothing if the segment is
    /// gone (retention) or being rewritten already.
    private static func recompress(
        _ job: Recompression, blockSize: Int, logDirectory: String, published: Published, rewrites: Rewrites
    ) {
        let base = job.index.baseSeq
        // Claimed under the lock retention deletes under (`retire`): from here until it is released,
        // retention stops at this segment.
        let claimed = rewrites.state.withLock { state -> Bool in
            guard state.busy == nil, FileSystem.fileSize(job.logPath) != nil else { return false }
            state.busy = base
            return true
        }
        guard claimed else { return }
        defer { rewrites.state.withLock { $0.busy = nil } }
        // The index written at seal describes the log before recompression: it must not outlive the
        // rename below, even across a crash (a missing index is rebuilt on open).
        let path = logDirectory + "/" + SegmentName.index(job.index.baseSeq)
        guard (try? FileSystem.remove(path)) != nil, (try? FileSystem.syncDirectory(logDirectory)) != nil else {
            return
        }
        var index = job.index
        var length = job.index.frames.last?.end ?? UInt64(FileHeader.size)
        // Not paused midway when ingest turns busy: the claim above stops retention at this segment,
        // and a recompression paused for as long as ingest stays busy would hold it past `maxBytes`.
        if let (rewritten, newLength) = try? SegmentRecompressor.recompress(
            path: job.logPath, index: index, blockSize: blockSize, level: job.level)
        {
            (index, length) = (rewritten, newLength)
        }
        writeIndex(index, logLength: length, logPath: job.logPath, logDirectory: logDirectory, published: published)
    }

    /// Recompresses the next segment waiting (newest first: retention takes the oldest); returns whether
    /// more wait. The segment's full index is rebuilt from its log (its index file has no record bytes).
    private static func catchUpOne(
        level: Int32, blockSize: Int, logDirectory: String, published: Published, rewrites: Rewrites
    ) -> Bool {
        guard let next = rewrites.state.withLock({ $0.waiting.popLast() }) else { return false }
        if let log = try? RawFile(path: next.logPath, flags: O_RDONLY), let length = try? log.size(),
            let index = try? LogWriter.rebuildIndex(file: log, base: next.base, length: length), index.damage.isEmpty
        {
            recompress(
                Recompression(index: index, logPath: next.logPath, level: level), blockSize: blockSize,
                logDirectory: logDirectory, published: published, rewrites: rewrites)
        }
        return rewrites.state.withLock { !$0.waiting.isEmpty }
    }

    /// Queues sealed segments that are still fast LZ4 for recompression when the thread is idle.
    func catchUp(_ segments: [(base: UInt64, logPath: String)]) {
        guard let recompressor, !segments.isEmpty else { return }
        rewrites.state.withLock { $0.waiting.append(contentsOf: segments) }
        recompressor.enqueue(.catchUp)
    }

    /// Runs `delete` (retention removing a sealed segment) unless that segment is being rewritten;
    /// returns whether it ran. Under the lock `recompress` claims a segment under, so a rewrite never
    /// renames a log back into place after retention removed it.
    ///
    /// The writer calls this: when the lock is held (by the idle-class recompression thread: see
    /// `takePublished`), it does not wait, and the segment counts as busy (the next roll deletes it).
    func retire(_ base: UInt64, _ delete: () throws(StoreError) -> Void) throws(StoreError) -> Bool {
        try rewrites.state.withLockIfAvailable { state throws(StoreError) -> Bool in
            guard state.busy != base else { return false }
            state.waiting.removeAll { $0.base == base }
            try delete()
            return true
        } ?? false
    }

    /// Writes a sealed segment's index file and publishes it with its log for the writer to adopt.
    private static func writeIndex(
        _ index: MemoryIndex, logLength: UInt64, logPath: String, logDirectory: String, published: Published
    ) {
        let path = logDirectory + "/" + SegmentName.index(index.baseSeq)
        let bytes = IndexFile.encode(index, logLength: logLength, createdMicros: currentMicros())
        // On failure (disk full) the segment simply has no index file yet: the writer rebuilds it on
        // the next open, readers in memory meanwhile.
        if (try? FileSystem.writeAtomically(bytes, to: path, directory: logDirectory, uncached: true)) != nil,
            let file = try? IndexFile(path: path, segmentPath: logPath),
            let log = try? RawFile(path: logPath, flags: O_RDONLY)
        {
            file.loadDedupeFilter()  // here, not in the writer's next commit
            // What it replaces (a seal's index, when a recompression publishes before the writer took
            // it) is freed after the lock: freeing closes the replaced log, which can take milliseconds.
            let replaced = published.files.withLock { $0.updateValue((file, log), forKey: index.baseSeq) }
            _ = replaced
        }
    }

    func enqueue(_ job: Job) { worker.enqueue(job) }

    /// Frees the indexes and closes the files of `segments` on the index thread, where they cost the
    /// writer nothing. In the commit that swapped an index file in, freeing the writer's light index of
    /// a 400k-event segment took 4 ms; after a recompression, closing the last descriptor of the log it
    /// replaced (renamed over: the close frees its 64 MB of blocks) made that commit 20 ms. (Not the seal
    /// thread: the writer must never wait for a lock an idle-class thread may hold, see `takePublished`.)
    func release(_ segments: [SealedSegment]) {
        guard !segments.isEmpty else { return }
        worker.enqueue(.release(segments))
    }

    /// Index files written since the last call, with their (possibly recompressed) logs, by base seq.
    ///
    /// Called by the writer in every commit: it must not wait. The seal and recompression threads, which
    /// publish, run in the idle scheduling class; one preempted inside this lock could be kept off the
    /// CPU for as long as the machine is busy, and the writer with it. Taken only if free: what is
    /// published meanwhile is taken by a later commit.
    func takePublished() -> [UInt64: (IndexFile, RawFile)] {
        published.files.withLockIfAvailable { p in
            defer { p.removeAll() }
            return p
        } ?? [:]
    }

    /// Finishes indexing; a recompression under way completes; queued ones are dropped (those segments
    /// stay fast LZ4, as valid, until a later run catches them up) unless the options ask to finish them.
    func close() {
        load.close()  // a recompression waiting for quiet goes on (or is dropped) now
        worker.close()
        sealer.close()  // after the index thread, which hands it the last seal
        recompressor?.close(discardingPending: !finishesRecompressionOnClose)
    }
}
