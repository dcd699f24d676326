import NIOCore
import Synchronization

/// Ends the body reads that outlast the body timeout: the connection's input is closed, the read ends,
/// and the route answers `408`.
///
/// One patrol task for the whole server checks every body being read each tenth of the timeout (but at
/// least every second and at most every 5 ms), instead of a timer per request. A `Task.sleep` raced
/// against each body in a task group was 2.5–3 % of a busy server's CPU: each sleep is a `dispatch_after`
/// that libdispatch's manager thread arms, and a cancelled sleep's timer is not disarmed but fires, idle,
/// a whole timeout later. The price is precision: a late body is cut within one patrol interval after
/// its deadline.
final class BodyWatchdog: Sendable {
    /// One body read being watched.
    struct Ticket: Sendable {
        fileprivate let id: UInt64
    }

    private struct Watched {
        var deadline: ContinuousClock.Instant
        var channel: any Channel
    }

    private struct State {
        var lastID: UInt64 = 0
        var watched: [UInt64: Watched] = [:]
        /// Reads whose deadline passed, until `finish` hears of it.
        var late: Set<UInt64> = []
        var patrolling = false
    }

    /// How long a body may take.
    let timeout: Duration
    private let interval: Duration
    private let state = Mutex(State())

    /// Creates a watchdog; it patrols only while some body is being read.
    init(timeout: Duration) {
        self.timeout = timeout
        interval = min(max(timeout / 10, .milliseconds(5)), .seconds(1))
    }

    /// Starts watching a body read on `channel`; pair every call with `finish`.
    func start(_ channel: any Channel) -> Ticket {
        let deadline = ContinuousClock.now + timeout
        let (ticket, startPatrol) = state.withLock { s in
            s.lastID &+= 1
            s.watched[s.lastID] = Watched(deadline: deadline, channel: channel)
            defer { s.patrolling = true }
            return (Ticket(id: s.lastID), !s.patrolling)
        }
        if startPatrol { Task.detached { await self.patrol() } }
        return ticket
    }

    /// Stops watching a read: true if its deadline passed first (its connection's input is closed).
    func finish(_ ticket: Ticket) -> Bool {
        state.withLock { s in
            s.watched[ticket.id] = nil
            return s.late.remove(ticket.id) != nil
        }
    }

    private func patrol() async {
        while true {
            try? await Task.sleep(for: interval)
            let now = ContinuousClock.now
            let channels: [any Channel]? = state.withLock { s in
                guard !s.watched.isEmpty else {
                    s.patrolling = false  // the next `start` sends a new patrol
                    return nil
                }
                let lateIDs = s.watched.compactMap { $0.value.deadline <= now ? $0.key : nil }
                return lateIDs.map { id in
                    s.late.insert(id)
                    return s.watched.removeValue(forKey: id)!.channel
                }
            }
            guard let channels else { return }
            for channel in channels {
                // Closing the input ends the body's stream; a channel that cannot half-close closes whole.
                channel.close(mode: .input).whenFailure { _ in channel.close(promise: nil) }
            }
        }
    }
}
