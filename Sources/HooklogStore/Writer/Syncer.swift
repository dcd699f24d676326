import Metrics
import Synchronization

/// Makes commits durable and answers them, on its own thread (or, for a small commit when it is idle, on
/// the writer's: `syncInlineIfIdle`), so that the writer can compress and write the next group commit
/// while the disk flushes this one (sync pipelining).
///
/// Jobs are handled in order: every job of a batch is acknowledged only after one `fdatasync` of each
/// file written up to it, and after the jobs before it. An acknowledgement therefore always means
/// durable. A failed sync poisons the writer (`WriterHealth`): whether those bytes reached the disk is
/// unknown, so nothing more is acknowledged until recovery has re-read the log on reopen.
final class Syncer: Sendable {
    struct Job: Sendable {
        /// Files written since the previous job (the active segment, and the one just sealed on a roll).
        var files: [RawFile]
        /// Where the log stands once this job is durable.
        var mark: CommitMark
        var acks: [(CheckedContinuation<AppendResult, any Error>, AppendResult)]
    }

    private let worker: WorkerThread<Job>
    private let handle: @Sendable ([Job]) -> Void

    init(markFile: RawFile, durable: Bool, health: WriterHealth) {
        // swift-metrics: a no-op until the process bootstraps a backend (`serve` bootstraps Prometheus).
        let syncTimer = Timer(label: "hooklog_fsync_seconds", preferredDisplayUnit: .seconds)
        let groupSize = Recorder(label: "hooklog_commit_requests", aggregate: true)
        let handle: @Sendable ([Job]) -> Void = { jobs in
            groupSize.record(jobs.reduce(0) { $0 + $1.acks.count })
            var failure = health.poisoned
            if failure == nil {
                var synced = Set<Int32>()
                for job in jobs {
                    for file in job.files where !synced.contains(file.fd) {
                        synced.insert(file.fd)
                        guard durable else { continue }
                        do throws(StoreError) {
                            let started = ContinuousClock.now
                            try file.syncData()
                            syncTimer.record(duration: ContinuousClock.now - started)
                        } catch {
                            failure = health.poison(after: error)
                            break
                        }
                    }
                    if failure != nil { break }
                }
            }
            if failure == nil, let last = jobs.last {
                // Not synced: it only matters while this process lives (see `CommitMark`).
                try? markFile.write(last.mark.encoded(), at: 0)
            }
            for job in jobs {
                for (continuation, result) in job.acks {
                    if let failure {
                        continuation.resume(throwing: failure)
                    } else {
                        continuation.resume(returning: result)
                    }
                }
            }
        }
        self.handle = handle
        worker = WorkerThread(name: "hooklog-sync", handle: handle)
    }

    func enqueue(_ job: Job) {
        if !worker.enqueue(job) {
            let error = StoreError(.closed, "the archive is closed")
            for (continuation, _) in job.acks { continuation.resume(throwing: error) }
        }
    }

    /// Makes `job` durable and answers it on the calling thread (the writer's) when the sync thread has
    /// nothing queued or under way; otherwise queues it.
    ///
    /// Why: at moderate rates each commit is small and the sync thread is idle when it comes; handing
    /// the commit over cost a wake-up of that thread (a context switch on cores the requests need, and
    /// its wait for a core) for nothing, as nothing was being written meanwhile. Order holds: only the
    /// writer enqueues, so an idle sync thread stays idle while the writer syncs, and every job before
    /// this one is answered. Under load the sync thread is busy and the pipeline works as before.
    func syncInlineIfIdle(_ job: Job) {
        if worker.isIdle { handle([job]) } else { enqueue(job) }
    }

    func close() { worker.close() }
}

/// Whether the writer may still acknowledge anything; shared by the writer and the syncer threads.
final class WriterHealth: Sendable {
    private let state = Mutex<StoreError?>(nil)

    var poisoned: StoreError? { state.withLock { $0 } }

    /// Records a failure that leaves the log's durable state unknown; returns the error to report.
    func poison(after error: StoreError) -> StoreError {
        let e = StoreError(
            .closed,
            "the archive stopped writing after a failed sync (\(error.message)); restart hooklog to recover",
            path: error.path, errno: error.errno)
        state.withLock { if $0 == nil { $0 = e } }
        return e
    }
}
