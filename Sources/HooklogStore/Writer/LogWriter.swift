#if canImport(Glibc)
import Glibc
#endif

/// A segment the writer has sealed: immutable log plus its index.
struct SealedSegment: Sendable {
    var baseSeq: UInt64
    var file: RawFile
    var index: any SegmentIndex
    var logLength: UInt64
}

/// The single writer of a data directory: recovery on open, group-commit appends, dedupe, sealing and
/// retention. Confined to the store's writer thread; it hands durability to the `Syncer` thread and
/// full indexing to the `IndexBuilder` thread, so its own path is encode, compress, write.
final class LogWriter {
    let directory: String
    let logDirectory: String
    let options: StoreOptions
    private let lock: DirectoryLock
    private(set) var sealed: [SealedSegment] = []
    private var activeFile: RawFile
    private var activeBase: UInt64
    private var activeLength: UInt64
    /// The active segment's file size: bytes past `activeLength` are zeros written ahead, so that an
    /// append overwrites allocated blocks and its `fdatasync` need not also journal a new file size
    /// (measured here: 0.27 ms instead of 0.49 ms per 34 KB synced write; `fallocate`, whose unwritten
    /// extents still need converting, measured 0.65 ms).
    private var allocatedLength: UInt64
    /// Zeros written ahead at a time: 4 MB, or less for small segments (a segment is rarely longer than
    /// its size plus one commit, so zeros past that are only cut again at the seal).
    let preallocationChunk: UInt64
    /// Zeros written in a commit that finds none ahead (see `preallocate`).
    let urgentChunk: UInt64
    /// Writes the next chunk of zeros in the background.
    private let zeros = Preallocator()
    private var activeIndex: MemoryIndex
    private let compressor: BlockCompressor
    /// The next frame must start a new block: after open, after a failed write, after a roll.
    private var forceNewBlock = true
    private var blockStart: UInt64 = 0
    private var lastTime: Int64 = 0
    private let markFile: RawFile
    /// Set when a sync failed or a failed write could not be rolled back: the log's durable state is
    /// unknown, so nothing more is acknowledged until the store is reopened and recovery has re-read it.
    let health = WriterHealth()
    let syncer: Syncer
    let builder: IndexBuilder
    /// How busy appending is, for the recompression thread to yield to.
    let load: IngestLoad
    /// Files written since the last commit was handed to the syncer.
    private var unsynced: [RawFile] = []
    /// Problems recovery found, for `ArchiveStore.openReport`.
    private(set) var recoveryNotes: [String] = []

    var nextSeq: UInt64 { activeIndex.endSeq }
    var firstSeq: UInt64 { sealed.first?.baseSeq ?? activeBase }

    init(directory: String, options: StoreOptions) throws(StoreError) {
        self.directory = directory
        logDirectory = directory + "/log"
        self.options = options
        preallocationChunk = min(4 << 20, max(UInt64(options.segmentSize), 64 << 10))
        urgentChunk = min(256 << 10, preallocationChunk)
        try FileSystem.makeDirectory(directory)
        try FileSystem.makeDirectory(logDirectory)
        lock = try DirectoryLock(directory: directory)
        compressor = BlockCompressor(blockSize: options.blockSize)
        markFile = try RawFile(path: logDirectory + "/COMMITTED", flags: O_RDWR | O_CREAT)
        // Until recovery has read the log, no mark: a reader that finds the lock held and no mark reads
        // nothing of the active segment (an old mark could name bytes recovery is about to cut).
        try markFile.truncate(to: 0)
        syncer = Syncer(markFile: markFile, durable: options.durable, health: health)
        load = IngestLoad(busyAbove: options.recompressSealed ? options.recompressionYieldsAbove : nil)
        builder = IndexBuilder(
            logDirectory: logDirectory, blockSize: options.blockSize,
            recompressLevel: options.recompressSealed ? Int32(options.recompressionLevel) : nil,
            recompressionBacklog: options.recompressionBacklog, load: load,
            finishesRecompressionOnClose: options.finishesRecompressionOnClose)

        let names = try FileSystem.list(logDirectory)
        for name in names
        where name.hasSuffix(".tmp") || name.hasSuffix(SegmentRecompressor.suffix)
            || (name.hasSuffix(SegmentName.indexSuffix)
                && !names.contains(String(name.dropLast(SegmentName.indexSuffix.count)) + SegmentName.logSuffix))
        {
            try FileSystem.remove(logDirectory + "/" + name)  // a half-written index, or one of a deleted log
        }
        let bases = try FileSystem.list(logDirectory).compactMap(SegmentName.baseSeq(ofLog:)).sorted()
        var expected: UInt64? = nil
        for base in bases.dropLast() {
            let segment = try Self.openSealed(logDirectory: logDirectory, base: base, writable: true)
            if let expected, base != expected {
                recoveryNotes.append(
                    "events \(min(expected, base))...\(max(expected, base) - 1) are missing between segments (before \(SegmentName.log(base)))"
                )
            }
            for d in segment.index.damage { recoveryNotes.append(d.description) }
            expected = segment.index.endSeq
            sealed.append(segment)
        }
        // The key summary, with a filter for every sealed segment (those sealed by a build without
        // one, or lost to a crash, are added now); the builder appends one at each seal.
        builder.attachSummary(
            KeySummaryWriter(logDirectory: logDirectory, sealed: sealed.map { ($0.baseSeq, $0.index.endSeq, $0.index) })
        )
        let lastBase = bases.last ?? 1
        let path = logDirectory + "/" + SegmentName.log(lastBase)
        if bases.isEmpty || (FileSystem.fileSize(path) ?? 0) < UInt64(FileHeader.size) {
            // New archive, or a crash while the segment's header was being written (no frame can follow
            // a header that is not durable: the header is synced before the first append).
            try Self.createSegment(path: path, base: lastBase, directory: logDirectory)
        }
        activeFile = try RawFile(path: path, flags: O_RDWR)
        // Read what the disk holds, not what the cache does: after a failed write-back the cache may keep
        // pages, marked clean, that never reached the disk.
        activeFile.dropCachedPages()
        activeBase = lastBase
        let activeHeader = try Self.readActiveHeader(activeFile, base: lastBase, notes: &recoveryNotes)
        var indexer = SegmentIndexer(
            baseSeq: lastBase, path: path, layout: try SegmentDictionary.layout(file: activeFile, header: activeHeader),
            resync: false)
        let size = try activeFile.size()
        try indexer.advance(file: activeFile, limit: size)
        for d in indexer.index.damage { recoveryNotes.append(d.description) }
        if indexer.tailLength > 0 && !indexer.tailIsZero {
            // A torn tail: the writes in progress when the process or machine stopped. They were never
            // acknowledged (acknowledgement follows fdatasync), so cutting them loses nothing.
            let kept = try Self.keepCutFrames(activeFile, from: indexer.scannedEnd, directory: logDirectory)
            try activeFile.truncate(to: indexer.scannedEnd)
            try activeFile.syncData()
            recoveryNotes.append(
                "\(path): cut an interrupted write of \(indexer.tailLength) bytes at offset \(indexer.scannedEnd) (\(indexer.tailReason ?? "incomplete"))"
                    + (kept.map { "; frames found after it were kept in \($0)" } ?? ""))
        }
        activeLength = indexer.scannedEnd
        allocatedLength = try activeFile.size()
        activeIndex = indexer.index
        try Self.dropStaleCheckpoint(logDirectory: logDirectory, active: indexer.index, notes: &recoveryNotes)
        builder.enqueue(.adopt(indexer.index))
        lastTime = max(activeIndex.maxTime ?? 0, sealed.last?.index.maxTime ?? 0)
        try writeMark()
        // Last, once nothing here can throw: a recompression queued by an open that then failed would
        // still run (a dropped worker finishes its queue), rewriting files with no writer lock held.
        if options.recompressSealed {
            // Sealed segments still fast LZ4 (a frame that continues a block: recompressed ones have one
            // frame a block), left so by a backlog or a stop: recompressed in the background when idle.
            builder.catchUp(
                sealed.filter { s in s.index.damage.isEmpty && s.index.frames.contains { !$0.header.startsBlock } }
                    .map { ($0.baseSeq, $0.file.path) })
        }
    }

    // MARK: Segments

    /// The active segment's header, written anew when it is damaged: it only names the file (its base
    /// seq is also the file's name), and every frame after it carries its own checksum, so damage there
    /// must not stop the archive. A version this build does not know is still refused.
    private static func readActiveHeader(
        _ file: RawFile, base: UInt64, notes: inout [String]
    ) throws(StoreError) -> FileHeader? {
        do throws(StoreError) {
            return try FileHeader.decode(try file.read(at: 0, count: FileHeader.size), kind: .segment, path: file.path)
        } catch  where error.code == .corrupt {
            try file.write(FileHeader(kind: .segment, baseSeq: base, createdMicros: currentMicros()).encoded(), at: 0)
            try file.syncData()
            notes.append(
                "\(file.path): wrote a damaged file header anew (\(error.message)); its frames are read as before")
            return nil
        }
    }

    /// Copies the bytes recovery is about to cut from the active segment to a file beside it, when they
    /// hold a whole frame: after a power cut those are unacknowledged writes that reached the disk out
    /// of order, but after damage to synced bytes they would be acknowledged events, and the cut must
    /// not destroy them. Returns the file's name, or nil when nothing was worth keeping.
    private static func keepCutFrames(
        _ file: RawFile, from offset: UInt64, directory: String
    ) throws(StoreError) -> String? {
        let size = try file.size()
        guard size > offset else { return nil }
        let bytes = try file.read(at: offset, count: Int(size - offset))
        guard SegmentScanner.nextBlockStart(bytes, after: -1, minimumSeq: 0) != nil else { return nil }
        let name = (file.path.split(separator: "/").last.map(String.init) ?? "segment") + ".cut-\(offset)"
        try FileSystem.writeAtomically(bytes, to: directory + "/" + name, directory: directory)
        return name
    }

    /// Removes the active segment's checkpoint index (written at a clean close) unless it describes the
    /// log as recovery found it: a prefix of it that ends on a frame with the same end seq. A stale one
    /// (the tail it covered was cut, or rewritten since) would show readers events that are not there.
    private static func dropStaleCheckpoint(
        logDirectory: String, active: MemoryIndex, notes: inout [String]
    ) throws(StoreError) {
        let indexPath = logDirectory + "/" + SegmentName.index(active.baseSeq)
        guard FileSystem.fileSize(indexPath) != nil else { return }
        let segmentPath = logDirectory + "/" + SegmentName.log(active.baseSeq)
        if let checkpoint = try? IndexFile(path: indexPath, segmentPath: segmentPath),
            checkpoint.baseSeq == active.baseSeq,
            checkpoint.lastFrameEnd == checkpoint.logLength,
            active.frames.contains(where: { $0.end == checkpoint.logLength && $0.endSeq == checkpoint.endSeq })
        {
            return
        }
        try FileSystem.remove(indexPath)
        try FileSystem.syncDirectory(logDirectory)
        notes.append("\(indexPath): removed an index of the active segment that no longer matches its log")
    }

    static func createSegment(path: String, base: UInt64, directory: String) throws(StoreError) {
        let file = try RawFile(path: path, flags: O_RDWR | O_CREAT | O_TRUNC)
        try file.write(FileHeader(kind: .segment, baseSeq: base, createdMicros: currentMicros()).encoded(), at: 0)
        try file.syncData()
        try FileSystem.syncDirectory(directory)
    }

    /// Opens a sealed segment with its index file, rebuilding the index from the log when the file is
    /// missing, damaged or stale (written for a different log length).
    static func openSealed(logDirectory: String, base: UInt64, writable: Bool) throws(StoreError) -> SealedSegment {
        let path = logDirectory + "/" + SegmentName.log(base)
        let indexPath = logDirectory + "/" + SegmentName.index(base)
        let file = try RawFile(path: path, flags: O_RDONLY)
        let length = try file.size()
        if let index = try? IndexFile(path: indexPath, segmentPath: path), index.baseSeq == base,
            index.logLength == length
        {
            // A version 1 index (one checksum, so every reader reads it whole) becomes version 2: the
            // same body with a checksum a page, no log read. If that fails, the old one serves.
            if writable, let bytes = index.upgraded(),
                (try? FileSystem.writeAtomically(bytes, to: indexPath, directory: logDirectory, uncached: true)) != nil,
                let upgraded = try? IndexFile(path: indexPath, segmentPath: path)
            {
                return SealedSegment(baseSeq: base, file: file, index: upgraded, logLength: length)
            }
            return SealedSegment(baseSeq: base, file: file, index: index, logLength: length)
        }
        let index = try rebuildIndex(file: file, base: base, length: length)
        if writable {
            let bytes = IndexFile.encode(index, logLength: length, createdMicros: currentMicros())
            if (try? FileSystem.writeAtomically(bytes, to: indexPath, directory: logDirectory, uncached: true)) != nil,
                let mapped = try? IndexFile(path: indexPath, segmentPath: path)
            {
                return SealedSegment(baseSeq: base, file: file, index: mapped, logLength: length)
            }
        }
        return SealedSegment(baseSeq: base, file: file, index: index, logLength: length)
    }

    /// Scans a whole sealed log into a `MemoryIndex`; bytes after its last frame count as damage.
    ///
    /// A damaged file header (cut short, bad magic, bad checksum) is damage like any other, not a reason
    /// to refuse the archive: the header only names the file (its base seq is also the file's name), and
    /// every frame after it carries its own checksum, so they are still read. A file version this build
    /// does not know is still refused (its frames may not be ours to read).
    static func rebuildIndex(file: RawFile, base: UInt64, length: UInt64) throws(StoreError) -> MemoryIndex {
        var headerDamage: DamagedRange? = nil
        var header: FileHeader?
        do {
            header = try FileHeader.decode(
                try file.read(at: 0, count: FileHeader.size), kind: .segment, path: file.path)
        } catch  where error.code == .corrupt {
            let lost = length < UInt64(FileHeader.size) ? "; the segment's events are lost" : ""
            headerDamage = DamagedRange(
                path: file.path, offset: 0, length: min(length, UInt64(FileHeader.size)),
                reason: "damaged file header: \(error.message)\(lost)", lostSeqs: nil)
        }
        let layout = try SegmentDictionary.layout(file: file, header: header)
        var indexer = SegmentIndexer(baseSeq: base, path: file.path, layout: layout)
        try indexer.advance(file: file, limit: length)
        var index = indexer.index
        if let headerDamage { index.damage.insert(headerDamage, at: 0) }
        if indexer.tailLength > 0 && !indexer.tailIsZero {
            index.damage.append(
                DamagedRange(
                    path: file.path, offset: indexer.scannedEnd, length: indexer.tailLength,
                    reason: indexer.tailReason ?? "unreadable tail", lostSeqs: nil))
        }
        return index
    }

    private func writeMark() throws(StoreError) {
        try markFile.write(
            CommitMark(segmentBase: activeBase, offset: activeLength, nextSeq: nextSeq).encoded(), at: 0)
    }

    // MARK: Appending

    /// What a commit leaves for the syncer: the files to sync and the mark to publish once they are.
    struct Pending {
        var results: [Result<AppendResult, StoreError>]
        var files: [RawFile]
        var mark: CommitMark
        /// Bytes this commit wrote to the log.
        var written: Int
    }

    /// Appends the requests of one group commit with one write; the `Syncer` then makes it durable
    /// (one `fdatasync` for this and any commit written meanwhile) before anyone is answered.
    ///
    /// Three steps: `plan` decides what is stored (dedupe) and at which seqs, `encode` makes the frames,
    /// `append` writes them. Each request is stored whole or not at all: if the write fails, the file is
    /// cut back to where it was and every request that had events to store gets the error (`diskFull`
    /// when it was space).
    func commit(_ requests: [AppendRequest]) -> Pending {
        adoptPublishedIndexes()
        defer { unsynced.removeAll() }
        if let poisoned = health.poisoned { return pending(requests.map { _ in .failure(poisoned) }) }
        let now = max(currentMicros(), lastTime)
        load.record(requests.reduce(0) { $0 + $1.events.count }, now: now)
        let plan = plan(requests, now: now)
        let (startLength, startBlock) = (activeLength, blockStart)
        let encoded = encode(plan, requests, now: now)
        if !encoded.frames.isEmpty {
            do throws(StoreError) {
                try append(encoded, plan, now: now)
            } catch {
                rollBack(to: startLength, blockStart: startBlock)
                // Only a request that neither stores anything nor is a duplicate of an event of this
                // commit is still answered: the events this commit was to store do not exist.
                return pending(
                    plan.outcomes.indices.map { r in
                        plan.needsThisCommit(r)
                            ? .failure(health.poisoned ?? error) : .success(AppendResult(outcomes: plan.outcomes[r]))
                    })
            }
        }
        if activeLength >= UInt64(options.segmentSize) { roll() }
        return pending(plan.outcomes.map { .success(AppendResult(outcomes: $0)) }, written: encoded.bytes.count)
    }

    /// What a commit stores: each request's outcomes, and which of its events get the next seqs.
    struct CommitPlan {
        /// Per request, in order: each event's outcome.
        var outcomes: [[AppendResult.Outcome]] = []
        /// Per request: the indices of the events it stores, whose seqs follow one another from
        /// `firstSeq` across the requests in order.
        var stored: [[Int]] = []
        var firstSeq: UInt64
        var endSeq: UInt64
        /// The ID and digest keys of the new records, for the writer's dedupe index without parsing the
        /// records again: as `SegmentIndex.add` derives them from a record (the ID key, then the digest
        /// key, which only a request's first stored event carries).
        var dedupeKeys: [(key: UInt64, seq: UInt64)] = []

        func stores(_ request: Int) -> Bool { !stored[request].isEmpty }

        /// Whether `request` stores events, or is answered as a duplicate of an event this commit stores
        /// (a retry of a request earlier in the same commit): either way it stands or falls with the
        /// commit's write.
        func needsThisCommit(_ request: Int) -> Bool {
            stores(request)
                || outcomes[request].contains { outcome in
                    if case .duplicate(let seq) = outcome { return seq >= firstSeq }
                    return false
                }
        }
    }

    /// Decides what each request stores: an event whose (account, source, id) is stored (or earlier in
    /// this commit) is a duplicate, and so is every event of a request whose body digest is, within its
    /// window; the rest get consecutive seqs.
    private func plan(_ requests: [AppendRequest], now: Int64) -> CommitPlan {
        var plan = CommitPlan(firstSeq: nextSeq, endSeq: nextSeq)
        var seq = nextSeq
        var seenIDs: [UInt64: [(NewEvent, UInt64)]] = [:]
        var seenDigests: [UInt64: (AppendRequest, UInt64)] = [:]
        for request in requests {
            var outcomes: [AppendResult.Outcome] = []
            var stored: [Int] = []
            defer {
                plan.outcomes.append(outcomes)
                plan.stored.append(stored)
            }
            if let digest = request.bodyDigest, !request.events.isEmpty {
                let key = IndexKey.digest(
                    account: request.events[0].account, source: request.events[0].source, digest: digest)
                let windowStart = now - Int64(request.dedupeWindow.components.seconds) * 1_000_000
                var first: UInt64? = nil
                if let (earlier, s) = seenDigests[key], Self.sameOrigin(earlier, request) {
                    first = s
                } else {
                    first = findDigest(key, request: request, since: windowStart)
                }
                // A retry is answered from the stored request only when all of its events are there: a
                // commit is kept whole on recovery, so finding its first event means finding them all.
                if let first, first + UInt64(request.events.count) <= seq {
                    outcomes = request.events.indices.map { .duplicate(first + UInt64($0)) }
                    continue
                }
                seenDigests[key] = (request, seq)
            }
            var digest = request.bodyDigest  // recorded on the request's first stored event
            // Through the buffer, not `for event in` or `events[k]`: both hand out a copy of each event (a
            // retain and a release of every field), 2 % of a busy server's CPU; the buffer's elements are
            // borrowed in place.
            request.events.withUnsafeBufferPointer { events in
                for k in events.indices {
                    if let id = events[k].id {
                        let key = IndexKey.id(account: events[k].account, source: events[k].source, id: id)
                        if let s = seenIDs[key]?.first(where: { Self.sameID($0.0, events[k]) })?.1
                            ?? findID(key, events[k])
                        {
                            outcomes.append(.duplicate(s))
                            continue
                        }
                        seenIDs[key, default: []].append((events[k], seq))
                        plan.dedupeKeys.append((key, seq))
                    }
                    if let d = digest {
                        plan.dedupeKeys.append(
                            (IndexKey.digest(account: events[k].account, source: events[k].source, digest: d), seq))
                        digest = nil
                    }
                    stored.append(k)
                    outcomes.append(.stored(seq))
                    seq += 1
                }
            }
        }
        plan.endSeq = seq
        return plan
    }

    /// A commit's frames, as they go into the log.
    struct EncodedCommit {
        var bytes = ByteWriter(capacity: 64 << 10)
        /// Each frame with its uncompressed records, for the index builder.
        var frames: [(FrameInfo, [UInt8])] = []
    }

    /// Encodes the events `plan` stores into frames of about a block's worth of records each, LZ4
    /// compressed against the block's earlier frames, every frame but the last flagged as continuing the
    /// commit (so recovery keeps a commit whole or not at all).
    private func encode(_ plan: CommitPlan, _ requests: [AppendRequest], now: Int64) -> EncodedCommit {
        var out = EncodedCommit()
        var records = ByteWriter(capacity: 64 << 10)
        var recordCount: UInt32 = 0
        var seq = plan.firstSeq
        var frameFirstSeq = seq

        /// - Parameter continues: more records of this commit follow in another frame.
        func flushFrame(continues: Bool) {
            guard recordCount > 0 else { return }
            let input = records.bytes
            let startsBlock = forceNewBlock || !compressor.fits(input.count)
            if startsBlock {
                compressor.startBlock(minimumCapacity: input.count)
                forceNewBlock = false
            }
            let compressed = compressor.compressFrame(input)
            let header = FrameHeader(
                compressedLength: UInt32(compressed.count), uncompressedLength: UInt32(input.count),
                firstSeq: frameFirstSeq, count: recordCount,
                flags: (startsBlock ? FrameHeader.flagStartsBlock : 0)
                    | (continues ? FrameHeader.flagCommitContinues : 0),
                minTime: now, maxTime: now)
            let offset = activeLength + UInt64(out.bytes.count)
            if startsBlock { blockStart = offset }
            header.write(payload: compressed, into: &out.bytes)
            out.frames.append((FrameInfo(offset: offset, blockStart: blockStart, header: header), input))
            records = ByteWriter(capacity: 64 << 10)
            recordCount = 0
            frameFirstSeq = seq
        }

        for (r, request) in requests.enumerated() where plan.stores(r) {
            var digest = request.bodyDigest  // on the request's first stored event, as planned
            request.events.withUnsafeBufferPointer { events in
                for k in plan.stored[r] {
                    if recordCount > 0 && records.count + events[k].payload.count + 256 > options.blockSize {
                        flushFrame(continues: true)  // this event goes into the next frame of the commit
                    }
                    RecordCodec.encode(events[k], receivedAt: now, bodyDigest: digest, into: &records)
                    digest = nil
                    recordCount += 1
                    seq += 1
                }
            }
        }
        flushFrame(continues: false)
        // Invariant: the commit's frames are contiguous from the end of the log, each starts at the seq
        // where the one before it ended, they hold exactly the planned seqs, and only the last ends the
        // commit (`SegmentScanner` checks the same on every read).
        let frames = out.frames.map(\.0)
        assert(frames.first.map { $0.offset == activeLength && $0.firstSeq == plan.firstSeq } ?? true)
        assert(zip(frames, frames.dropFirst()).allSatisfy { $0.end == $1.offset && $0.endSeq == $1.firstSeq })
        assert(frames.indices.allSatisfy { frames[$0].header.commitContinues == ($0 < frames.count - 1) })
        assert(frames.last.map { $0.endSeq == plan.endSeq && $0.end == activeLength + UInt64(out.bytes.count) } ?? true)
        assert(seq == plan.endSeq)
        return out
    }

    /// Writes a commit's frames at the end of the active segment (into zeros written ahead) and adds
    /// them to the writer's index and the builder's queue.
    private func append(_ encoded: EncodedCommit, _ plan: CommitPlan, now: Int64) throws(StoreError) {
        try preallocate(through: activeLength + UInt64(encoded.bytes.count))
        try activeFile.write(encoded.bytes.bytes, at: activeLength)
        activeLength += UInt64(encoded.bytes.count)
        unsynced.append(activeFile)
        activeIndex.addDedupe(frames: encoded.frames.map(\.0), keys: plan.dedupeKeys)
        builder.enqueue(.frames(encoded.frames))
        lastTime = now
        // Invariant: the writer's index ends where the log does.
        assert(activeIndex.endSeq == plan.endSeq && nextSeq == plan.endSeq)
    }

    /// Makes sure the file is written (with zeros) at least through `end`. Normally the background chunk
    /// (`Preallocator`) is already there; only when the log outruns it are zeros written here, in the
    /// commit. A full disk shows up then, before any event is written, and is undone.
    private func preallocate(through end: UInt64) throws(StoreError) {
        if let through = zeros.take(for: activeFile) { allocatedLength = max(allocatedLength, through) }
        if end > allocatedLength && zeros.isBusy {
            zeros.wait()  // the chunk being written may be what this commit needs
            if let through = zeros.take(for: activeFile) { allocatedLength = max(allocatedLength, through) }
        }
        if end > allocatedLength {
            // Only a little here, in the commit (the first after a roll, whose new segment has no zeros
            // yet: 4 MB of them made that commit 8 ms); the next chunk starts in the background below.
            let target = max(end, allocatedLength + urgentChunk)
            try Preallocator.zeros(activeFile, from: allocatedLength, to: target)
            allocatedLength = target
        }
        // Less than half a chunk left: the next one is written meanwhile.
        if allocatedLength - end < preallocationChunk / 2 {
            zeros.start(activeFile, from: allocatedLength, to: allocatedLength + preallocationChunk)
        }
    }

    /// Waits for zeros being written ahead of the active file and forgets them: before the file is cut.
    private func settleZeros() {
        zeros.wait()
        _ = zeros.take(for: activeFile)
    }

    private func pending(_ results: [Result<AppendResult, StoreError>], written: Int = 0) -> Pending {
        Pending(
            results: results, files: unsynced,
            mark: CommitMark(segmentBase: activeBase, offset: activeLength, nextSeq: nextSeq),
            written: written)
    }

    /// Swaps the index files the builder has written in for the writer's light indexes.
    private func adoptPublishedIndexes() {
        let published = builder.takePublished()
        guard !published.isEmpty else { return }
        var replaced: [SealedSegment] = []
        for i in sealed.indices {
            if let (index, file) = published[sealed[i].baseSeq] {
                replaced.append(sealed[i])
                sealed[i] = SealedSegment(
                    baseSeq: sealed[i].baseSeq, file: file, index: index, logLength: index.logLength)
            }
        }
        builder.release(replaced)
    }

    /// Undoes a failed write: cuts the file back and makes the next frame start a fresh block (the LZ4
    /// history now holds bytes that never reached the file).
    private func rollBack(to length: UInt64, blockStart start: UInt64) {
        settleZeros()
        do {
            try activeFile.truncate(to: length)
            allocatedLength = length
        } catch {
            _ = health.poison(after: error)
        }
        blockStart = start
        forceNewBlock = true
    }

    private static func sameID(_ a: NewEvent, _ b: NewEvent) -> Bool {
        a.account == b.account && a.source == b.source && a.id == b.id
    }

    private static func sameOrigin(_ a: AppendRequest, _ b: AppendRequest) -> Bool {
        a.bodyDigest == b.bodyDigest && a.events.first?.account == b.events.first?.account
            && a.events.first?.source == b.events.first?.source
    }

    /// Every segment the writer can read, oldest first, with the active one last.
    private var segmentsForLookup: [(file: RawFile, index: any SegmentIndex)] {
        sealed.map { ($0.file, $0.index) } + [(activeFile, activeIndex)]
    }

    /// The seq of a stored event with this (account, source, id), checked against the event itself.
    private func findID(_ key: UInt64, _ event: NewEvent) -> UInt64? {
        for (file, index) in segmentsForLookup.reversed() where index.mightContain(dedupeKey: key) {
            for ordinal in index.postings(key) {
                let s = index.baseSeq + UInt64(ordinal)
                if let stored = try? BlockReader.event(seq: s, file: file, frames: index.frames, index: index),
                    stored.id == event.id, stored.account == event.account, stored.source == event.source
                {
                    return s
                }
            }
        }
        return nil
    }

    /// The first seq of a stored request with this body digest received at or after `since`.
    private func findDigest(_ key: UInt64, request: AppendRequest, since: Int64) -> UInt64? {
        for (file, index) in segmentsForLookup.reversed() {
            // A segment with no events yet (the active one right after a roll or an open) says nothing
            // about the time: the window goes on into the segments before it.
            guard let maxTime = index.maxTime else { continue }
            guard maxTime >= since else { break }
            guard index.mightContain(dedupeKey: key) else { continue }
            for ordinal in index.postings(key).reversed() {
                let s = index.baseSeq + UInt64(ordinal)
                if let stored = try? BlockReader.event(seq: s, file: file, frames: index.frames, index: index),
                    stored.receivedAtMicros >= since, stored.bodyDigest == request.bodyDigest,
                    stored.account == request.events[0].account, stored.source == request.events[0].source
                {
                    return s
                }
            }
        }
        return nil
    }

    // MARK: Sealing and retention

    /// Seals the active segment and starts the next one; the builder writes the sealed segment's index
    /// file.
    ///
    /// Order: the sealed segment is cut to its last frame and synced before the next segment exists. A
    /// power cut then leaves either the old segment still active and whole, or it sealed and whole with
    /// the new one after it: never a new segment behind an old one that lost its tail (a seq gap) or
    /// kept zeros. A failed sync stops acknowledging; any other failure leaves the active segment
    /// growing, to be sealed after a later commit.
    private func roll() {
        settleZeros()
        do throws(StoreError) {
            try activeFile.truncate(to: activeLength)
            allocatedLength = activeLength
        } catch {
            return
        }
        do throws(StoreError) {
            if options.durable { try activeFile.syncData() }
        } catch {
            _ = health.poison(after: error)
            return
        }
        let newBase = nextSeq
        let newPath = logDirectory + "/" + SegmentName.log(newBase)
        let newFile: RawFile
        do throws(StoreError) {
            try Self.createSegment(path: newPath, base: newBase, directory: logDirectory)
            newFile = try RawFile(path: newPath, flags: O_RDWR)
        } catch {
            try? FileSystem.remove(newPath)
            return
        }
        builder.enqueue(.seal(logLength: activeLength, logPath: activeFile.path, nextBase: newBase))
        sealed.append(SealedSegment(baseSeq: activeBase, file: activeFile, index: activeIndex, logLength: activeLength))
        activeFile = newFile
        activeBase = newBase
        activeLength = UInt64(FileHeader.size)
        allocatedLength = UInt64(FileHeader.size)
        activeIndex = MemoryIndex(baseSeq: newBase)
        forceNewBlock = true
        _ = try? applyRetention(now: currentMicros())
    }

    /// Deletes whole sealed segments, oldest first, that are older than `maxAge` or beyond `maxBytes`.
    /// The active segment is never deleted. Returns the base seqs deleted.
    @discardableResult
    func applyRetention(now: Int64) throws(StoreError) -> [UInt64] {
        var deleted: [UInt64] = []
        var total = sealed.reduce(activeLength) { $0 + $1.logLength }
        while let oldest = sealed.first {
            let tooOld =
                options.maxAge.map { age in
                    (oldest.index.maxTime ?? 0) < now - Int64(age.components.seconds) * 1_000_000
                } ?? false
            let tooBig = options.maxBytes.map { total > $0 } ?? false
            guard tooOld || tooBig else { break }
            let removed = try builder.retire(oldest.baseSeq) { () throws(StoreError) in
                try FileSystem.remove(logDirectory + "/" + SegmentName.log(oldest.baseSeq))
                try FileSystem.remove(logDirectory + "/" + SegmentName.index(oldest.baseSeq))
            }
            guard removed else { break }  // being recompressed: the next roll deletes it
            total -= oldest.logLength
            sealed.removeFirst()
            deleted.append(oldest.baseSeq)
        }
        if !deleted.isEmpty { try FileSystem.syncDirectory(logDirectory) }
        return deleted
    }

    /// Lets the syncer answer and the builder seal what is queued, then releases the directory.
    func close() {
        // After a clean stop the active segment ends at its last frame: readers need not skip zeros.
        zeros.close()
        if (try? activeFile.truncate(to: activeLength)) != nil { try? activeFile.syncData() }
        builder.enqueue(.checkpoint(logLength: activeLength))
        syncer.close()
        builder.close()
        lock.release()
    }
}
