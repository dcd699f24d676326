import AsyncHTTPClient
import Foundation
import HooklogStore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Sends archived events to a webhook URL: in `seq` order per entity, entities in parallel.
///
/// Entities are spread over `concurrency` lanes by a hash of their ID; a lane sends one request at a time
/// and waits for its answer (with retries) before the next, so a consumer never sees an order's
/// `updated` before its `created`, while other entities' lanes go on. One scan of the archive feeds the
/// lanes through bounded queues, so memory stays flat however long the history.
public final class Replayer: Sendable {
    /// What the run did (or, for a dry run, would do).
    public struct Summary: Sendable {
        /// Events to send in this run (after what a checkpoint says is done).
        public var events = 0
        /// Requests those events make.
        public var requests = 0
        /// Distinct entities among them.
        public var entities = 0
        /// First and last `received_at` (µs).
        public var timeRange: ClosedRange<Int64>?
        /// Events an earlier run already settled (from the checkpoint).
        public var skipped = 0
        /// Events delivered.
        public var delivered = 0
        /// Events given up on (dead-lettered).
        public var failed = 0
        /// Requests sent, tries included.
        public var attempts = 0
        /// Retries among them.
        public var retries = 0
        /// Why requests were given up on, a few examples.
        public var failures: [String] = []
        /// Whether the run was interrupted before settling everything.
        public var interrupted = false
        /// Whether the checkpoint said the run was already complete.
        public var alreadyComplete = false
    }

    let configuration: ReplayConfiguration
    let directory: String
    private let counters = Mutex(Summary())
    private let stopping = Atomic<Bool>(false)

    /// A replay of the archive in `directory`.
    public init(directory: String, configuration: ReplayConfiguration) {
        self.directory = directory
        self.configuration = configuration
    }

    /// The run's counters as they stand (for a progress line).
    public var progress: Summary { counters.withLock { $0 } }

    /// Asks the run to stop: lanes finish the request in flight and take no more; the checkpoint keeps
    /// the rest for the next run.
    public func stop() { stopping.store(true, ordering: .relaxed) }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// What a run would send: events, requests, entities, time range. Sends nothing.
    public func plan() throws -> Summary {
        if let problem = configuration.problem { throw ReplayError(problem) }
        let snapshot = try ArchiveReader(directory: directory).snapshot()
        let resume = try loadCheckpoint()
        let filter = filter(resuming: resume)
        var summary = Summary()
        var laneCounts = [Int](repeating: 0, count: configuration.concurrency)
        var entities = Set<String>()
        var lo = Int64.max, hi = Int64.min
        try scan(snapshot, filter) { view in
            if Ledger.isSettled(view.seq, in: resume) {
                summary.skipped += 1
                return
            }
            summary.events += 1
            let e = ReplayEvent(view, envelope: false)
            laneCounts[e.lane(of: configuration.concurrency)] += 1
            entities.insert(e.entity ?? "#\(e.seq)")
            lo = min(lo, view.receivedAtMicros)
            hi = max(hi, view.receivedAtMicros)
        }
        let per = configuration.eventsPerRequest
        summary.requests = laneCounts.reduce(0) { $0 + ($1 + per - 1) / per }
        summary.entities = entities.count
        summary.timeRange = summary.events > 0 ? lo...hi : nil
        summary.alreadyComplete = resume?.complete ?? false
        return summary
    }

    /// Sends everything; returns when every event is settled or the run was stopped.
    public func run() async throws -> Summary {
        if let problem = configuration.problem { throw ReplayError(problem) }
        let reader = try ArchiveReader(directory: directory)
        let snapshot = try reader.snapshot()
        let resume = try loadCheckpoint()
        if resume?.complete == true {
            return counters.withLock {
                $0.alreadyComplete = true
                return $0
            }
        }
        let deadLetter = try configuration.deadLetter.map { path throws(ReplayError) in try DeadLetterFile(path: path) }
        let filter = filter(resuming: resume)
        let ledger = Ledger(
            checkpoint: configuration.checkpoint, fingerprint: configuration.fingerprint,
            window: Ledger.Window(since: filter.since, until: filter.until), resume: resume, deadLetter: deadLetter,
            snapshot: snapshot)
        try await ledger.start()
        let builder = RequestBuilder(
            configuration: configuration, archiveID: ArchiveIdentity.load(directory: directory))
        let limiter = configuration.rate.map { RateLimiter(perSecond: $0) }
        let per = configuration.eventsPerRequest
        let lanes = (0..<configuration.concurrency).map { _ in
            LaneQueue(capacity: max(2 * per, min(1024, 16384 / configuration.concurrency)))
        }

        // Plain `http://` goes through a lean connection per lane; `https://` (and headers the lean writer
        // leaves alone) through AsyncHTTPClient. See `PlainHTTPConnection`.
        let plain = PlainHTTPConnection.Target(configuration.url).flatMap { target in
            !configuration.alwaysUseAsyncHTTPClient
                && PlainHTTPConnection.accepts(configuration.headers + [(configuration.signHeader, "")])
                ? target : nil
        }
        let client: HTTPClient? =
            plain != nil
            ? nil
            : {
                var clientConfiguration = HTTPClient.Configuration()
                clientConfiguration.connectionPool = .init(
                    idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.concurrency)
                clientConfiguration.timeout = .init(connect: .seconds(10))
                clientConfiguration.decompression = .disabled
                // A redirect is an answer like any other 3xx, as with the built-in client: following a 301/302
                // turns the POST into a bodiless GET, whose 200 would count as delivered.
                clientConfiguration.redirectConfiguration = .disallow
                // No tracer is bootstrapped: skip building a span for every request (about 8 % of replay's CPU).
                clientConfiguration.tracing.tracer = nil
                return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration)
            }()
        let url = configuration.url

        let outcome: Result<Void, any Error> = await withTaskGroup(of: Result<Void, any Error>.self) { group in
            for lane in lanes {
                group.addTask {
                    // However the lane ends, the scan must not wait on it any more.
                    defer { lane.close() }
                    let poster: any WebhookPoster =
                        if let plain {
                            PlainHTTPConnection(target: plain, group: MultiThreadedEventLoopGroup.singleton)
                        } else {
                            AsyncHTTPClientPoster(client: client!, url: url)
                        }
                    do {
                        while !self.isStopping {
                            let batch = await lane.next(per)
                            if batch.isEmpty { break }
                            guard
                                let delivered = await self.send(
                                    batch, poster: poster, builder: builder, limiter: limiter)
                            else { break }
                            try await ledger.settle(batch, delivered: delivered)
                        }
                        await poster.close()
                        return .success(())
                    } catch {
                        await poster.close()
                        self.stop()
                        return .failure(error)
                    }
                }
            }
            group.addTask {
                defer { for lane in lanes { lane.finish() } }
                do {
                    try await self.produce(snapshot, filter: filter, resume: resume, ledger: ledger, lanes: lanes)
                    return .success(())
                } catch {
                    self.stop()
                    return .failure(error)
                }
            }
            var first: Result<Void, any Error> = .success(())
            for await result in group {
                if case .failure = result, case .success = first { first = result }
            }
            return first
        }
        try? await client?.shutdown()
        try outcome.get()
        let interrupted = isStopping
        try await ledger.finish(interrupted: interrupted)
        return counters.withLock {
            $0.interrupted = interrupted
            return $0
        }
    }

    /// The checkpoint to resume, if any.
    private func loadCheckpoint() throws(ReplayError) -> Ledger.Resume? {
        guard let path = configuration.checkpoint else { return nil }
        return try Ledger.load(path, configuration: configuration)
    }

    /// The run's filter: the configured one, over the window a checkpoint holds (a relative `--since`
    /// resolved by the first run, so a resumed run sends the same events).
    private func filter(resuming resume: Ledger.Resume?) -> EventFilter {
        var filter = configuration.filter
        if let window = resume?.window {
            filter.since = window.since
            filter.until = window.until
        }
        return filter
    }

    /// Scans the matching events in `seq` order, in chunks, handing each to its lane.
    private func produce(
        _ snapshot: ArchiveSnapshot, filter: EventFilter, resume: Ledger.Resume?, ledger: Ledger, lanes: [LaneQueue]
    ) async throws {
        let envelope = configuration.shape == .envelope
        var chunk: [ReplayEvent] = []
        var skipped = 0
        var pending: [ReplayEvent] = []
        func flush() async {
            guard !pending.isEmpty else { return }
            Self.unpinSparseBlocks(&pending)
            await ledger.issue(pending.map { ($0.seq, $0.afterSkipped) })
            counters.withLock { $0.events += pending.count }
            // Each lane's share in order, handed out in rounds: a full lane does not hold back the shares
            // of the lanes after it. (When every lane with events left is full, the producer waits for
            // room in the first of them, as it always has.)
            var byLane = [[ReplayEvent]](repeating: [], count: lanes.count)
            for e in pending { byLane[e.lane(of: lanes.count)].append(e) }
            var pushed = [Int](repeating: 0, count: lanes.count)
            while !isStopping {
                var progressed = false
                var waiting: Int? = nil
                for i in lanes.indices where pushed[i] < byLane[i].count {
                    let n = lanes[i].tryPush(byLane[i][pushed[i]...])
                    pushed[i] += n
                    progressed = progressed || n > 0
                    if waiting == nil && pushed[i] < byLane[i].count { waiting = i }
                }
                guard let full = waiting else { break }
                if !progressed { await lanes[full].waitForRoom() }
            }
            pending.removeAll(keepingCapacity: true)
        }
        // Whether an event the run skips (settled by an earlier run) came since the last one issued.
        var skippedSince = false
        if let file = configuration.fromFile {
            for seq in try DeadLetterReader.seqs(file) {
                if Ledger.isSettled(seq, in: resume) {
                    skipped += 1
                    skippedSince = true
                    continue
                }
                var found = false
                try snapshot.forEachView(matching: EventFilter(afterSeq: seq - 1, beforeSeq: seq + 1), limit: 1) {
                    view in
                    var e = ReplayEvent(view, envelope: envelope)
                    e.afterSkipped = skippedSince
                    pending.append(e)
                    skippedSince = false
                    found = true
                    return false
                }
                if !found { throw ReplayError("event \(seq) of \(file) is not in the archive (removed by retention?)") }
                if pending.count >= 1024 { await flush() }
                if isStopping { return }
            }
        } else {
            var filter = filter
            while !isStopping {
                chunk.removeAll(keepingCapacity: true)
                var last: UInt64?
                try snapshot.forEachView(matching: filter, limit: 4096) { view in
                    last = view.seq
                    if Ledger.isSettled(view.seq, in: resume) {
                        skipped += 1
                        skippedSince = true
                    } else {
                        var e = ReplayEvent(view, envelope: envelope)
                        e.afterSkipped = skippedSince
                        chunk.append(e)
                        skippedSince = false
                    }
                    return true
                }
                pending = chunk
                await flush()
                guard let last else { break }
                filter.afterSeq = last
            }
        }
        await flush()
        let skippedCount = skipped
        counters.withLock { $0.skipped = skippedCount }
    }

    /// Gives its own copy to every payload whose decoded block (64 KB) is less than a quarter used by the
    /// events queued from it, so that a sparse scan (`--ref`, a small account) holds at most four times
    /// the bytes it has queued, not a block per event; where a good share of a block's events are queued
    /// (`--account` of a big one, no filter), they keep sharing it. (Copying every payload, one
    /// allocation each, cost a batch replay of one account 6 % more CPU, `perf stat`.)
    static func unpinSparseBlocks(_ events: inout [ReplayEvent]) {
        func block(_ payload: ArraySlice<UInt8>) -> Int {
            payload.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) } &- payload.startIndex
        }
        // The scan hands out a block's events one after another: runs of the same block, no hashing.
        var start = 0
        while start < events.count {
            let key = block(events[start].payload)
            var end = start + 1
            var used = events[start].payload.count
            while end < events.count && block(events[end].payload) == key {
                used += events[end].payload.count
                end += 1
            }
            if used * 4 < events[start].blockBytes {
                // One new buffer for the run's payloads, not one each (an allocation an event was most
                // of what copying cost).
                var compact: [UInt8] = []
                compact.reserveCapacity(used)
                for i in start..<end { compact.append(contentsOf: events[i].payload) }
                var from = 0
                for i in start..<end {
                    let n = events[i].payload.count
                    events[i].payload = compact[from..<(from + n)]
                    events[i].blockBytes = used
                    from += n
                }
            }
            start = end
        }
    }

    /// Sends one request's events, retrying as the policy says.
    /// - Returns: true if delivered, false if given up on, nil if the run is stopping first.
    private func send(
        _ events: [ReplayEvent], poster: any WebhookPoster, builder: RequestBuilder, limiter: RateLimiter?
    ) async -> Bool? {
        let policy = RetryPolicy(
            maxAttempts: configuration.maxAttempts, base: configuration.baseBackoff, cap: configuration.maxBackoff)
        var attempt = 0
        while true {
            attempt += 1
            do { try await limiter?.acquire() } catch { return nil }
            let now = Int64(Date().timeIntervalSince1970)
            let built = builder.build(events, nowSeconds: now)
            var reason: String
            var retryAfter: Duration?
            let verdict: RetryPolicy.Verdict
            do {
                let answer = try await poster.post(
                    headers: built.headers, body: built.body, timeout: configuration.timeout)
                verdict = RetryPolicy.verdict(status: answer.status)
                reason = "HTTP \(answer.status)"
                retryAfter = RetryPolicy.retryAfter(answer.retryAfter, nowSeconds: now)
            } catch {
                verdict = .retry
                reason = "\(error)"
            }
            counters.withLock {
                $0.attempts += 1
                if attempt > 1 { $0.retries += 1 }
            }
            switch verdict {
            case .delivered:
                counters.withLock { $0.delivered += events.count }
                return true
            case .reject:
                return giveUp(events, "\(reason) (not retried)")
            case .retry:
                if attempt >= configuration.maxAttempts { return giveUp(events, "\(reason) after \(attempt) tries") }
                if isStopping { return nil }
                do {
                    try await Task.sleep(for: policy.delay(afterAttempt: attempt, retryAfter: retryAfter))
                } catch { return nil }
                if isStopping { return nil }
            }
        }
    }

    private func giveUp(_ events: [ReplayEvent], _ reason: String) -> Bool {
        counters.withLock {
            $0.failed += events.count
            if $0.failures.count < 5 { $0.failures.append("seq \(events[0].seq): \(reason)") }
        }
        return false
    }

    private func scan(_ snapshot: ArchiveSnapshot, _ filter: EventFilter, _ body: (EventView) throws -> Void) throws {
        if let file = configuration.fromFile {
            for seq in try DeadLetterReader.seqs(file) {
                try snapshot.forEachView(matching: EventFilter(afterSeq: seq - 1, beforeSeq: seq + 1), limit: 1) {
                    view in
                    try body(view)
                    return false
                }
            }
        } else {
            try snapshot.forEachView(matching: filter) { view in
                try body(view)
                return true
            }
        }
    }
}

/// Reads the `seq`s of a dead-letter file (NDJSON as `hooklog query` prints it).
enum DeadLetterReader {
    static func seqs(_ path: String) throws(ReplayError) -> [UInt64] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReplayError("cannot read \(path): no such file, or not readable")
        }
        var seqs: [UInt64] = []
        var seen = Set<UInt64>()
        for (n, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !line.isEmpty
        {
            // `as? Int`: an integer only (1.5, 1e30, -1 and strings are refused, not rounded or wrapped).
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let n = object["seq"] as? Int, n > 0, case let seq = UInt64(n)
            else {
                throw ReplayError(
                    "\(path):\(n + 1): not an event line (a JSON object with a \"seq\", as `hooklog query` prints)")
            }
            if seen.insert(seq).inserted { seqs.append(seq) }
        }
        return seqs.sorted()
    }
}
