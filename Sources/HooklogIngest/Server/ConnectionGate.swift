import Synchronization

/// Counts the open connections and lets in at most `limit` (`--max-connections`).
///
/// A connection past the limit is not left waiting in the listen queue, where a sender could not tell
/// a full server from a slow one: it is accepted, answered `503` with `Retry-After`, and closed
/// (`RefusingHandler`).
final class ConnectionGate: Sendable {
    /// The most connections open at once.
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) {
        precondition(limit > 0, "a connection gate must let at least one connection in")
        self.limit = limit
    }

    /// The connections let in and not yet closed.
    var count: Int { open.load(ordering: .relaxed) }

    /// Lets a connection in if fewer than `limit` are open; pair a true answer with `leave()`.
    func enter() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = open.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// A connection let in by `enter()` has closed.
    func leave() {
        let before = open.subtract(1, ordering: .relaxed).oldValue
        // Invariant: every leave pairs with an enter that returned true.
        assert(before > 0, "a connection left a gate nobody had entered")
    }
}
