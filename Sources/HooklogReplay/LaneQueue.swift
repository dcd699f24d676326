import Synchronization

/// A bounded single-producer, single-consumer queue between the archive scan and one lane: the scan
/// waits when the lane is `capacity` events behind, so a replay of millions of events holds only a few
/// thousand in memory.
final class LaneQueue: Sendable {
    private struct State {
        var items: [ReplayEvent] = []
        var head = 0
        var finished = false
        /// The lane stopped consuming: pushes are dropped (their events stay unsettled for the next run).
        var closed = false
        var producer: CheckedContinuation<Void, Never>?
        var consumer: (want: Int, continuation: CheckedContinuation<[ReplayEvent], Never>)?

        var count: Int { items.count - head }

        mutating func take(_ n: Int) -> [ReplayEvent] {
            let k = min(n, count)
            let out = Array(items[head..<head + k])
            head += k
            if head > 4096 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return out
        }
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    /// Adds as many of `events` as there is room for, in order, without waiting; returns how many (all
    /// of them once the lane is closed: they are dropped). Many at a time: one lock for a lane's share of
    /// a chunk of the scan, not one an event.
    func tryPush(_ events: ArraySlice<ReplayEvent>) -> Int {
        state.withLock { s in
            if s.closed { return events.count }
            let n = min(events.count, capacity - s.count)
            guard n > 0 else { return 0 }
            s.items.append(contentsOf: events.prefix(n))
            if let c = s.consumer, s.count >= c.want {
                s.consumer = nil
                c.continuation.resume(returning: s.take(c.want))
            }
            return n
        }
    }

    /// Returns once the queue has room (or the lane is closed).
    func waitForRoom() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow: Bool = state.withLock { s in
                if s.closed || s.count < capacity { return true }
                s.producer = c
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    /// The lane will take no more: a producer waiting for room goes on, and later pushes are dropped.
    func close() {
        let producer: CheckedContinuation<Void, Never>? = state.withLock { s in
            s.closed = true
            s.items.removeAll()
            s.head = 0
            let p = s.producer
            s.producer = nil
            return p
        }
        producer?.resume()
    }

    /// No more events will come.
    func finish() {
        state.withLock { s in
            s.finished = true
            if let c = s.consumer {
                s.consumer = nil
                c.continuation.resume(returning: s.take(c.want))
            }
        }
    }

    /// The next `n` events, or fewer once the queue is finished; empty when it is finished and drained.
    /// Waiting for a full batch makes the requests a run sends the same on every run (and resumable).
    func next(_ n: Int) async -> [ReplayEvent] {
        await withCheckedContinuation { (c: CheckedContinuation<[ReplayEvent], Never>) in
            let (ready, producer): ([ReplayEvent]?, CheckedContinuation<Void, Never>?) = state.withLock { s in
                if s.count >= n || s.finished {
                    let out = s.take(n)
                    let p = s.producer
                    s.producer = nil
                    return (out, p)
                }
                s.consumer = (n, c)
                let p = s.producer
                s.producer = nil
                return (nil, p)
            }
            producer?.resume()
            if let ready { c.resume(returning: ready) }
        }
    }
}
