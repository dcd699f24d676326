import Synchronization

/// The body bytes the whole server may hold at once (`--max-inflight-bytes`): every body is reserved
/// here before it is read, and a request that cannot reserve its bytes is answered `503` at once.
///
/// A body is reserved for its declared `Content-Length` before its first byte is read (a chunked body
/// part by part, as it comes) and released when its request is answered, by the `Reservation`'s
/// `deinit`: a reservation cannot be dropped without releasing, whatever path the request takes (an
/// answer, a thrown error, a cancelled task, a closed connection).
///
/// Bodies over `smallBody` bytes may fill the budget only up to `bulkCapacity` (three quarters): the
/// last quarter is kept for the small bodies most deliveries are, so that senders holding large bodies
/// open (slowly, or many at once) cannot turn every ordinary delivery away.
final class BodyBudget: Sendable {
    /// All the bytes bodies may hold at once.
    let capacity: Int
    /// What bodies over `smallBody` bytes may hold at once.
    let bulkCapacity: Int
    /// The largest body that may use the whole budget.
    let smallBody: Int
    private let inFlight = Atomic<Int>(0)

    /// Creates a budget of `capacity` bytes.
    init(capacity: Int, smallBody: Int = 64 << 10) {
        precondition(capacity > 0, "a body budget needs room for at least one byte")
        self.capacity = capacity
        bulkCapacity = capacity - capacity / 4
        self.smallBody = smallBody
    }

    /// The bytes reserved now.
    var reserved: Int { inFlight.load(ordering: .relaxed) }

    /// Reserves `bytes` for a body, or nil if the budget has no room for them.
    func reserve(_ bytes: Int) -> Reservation? {
        guard take(bytes, bodyTotal: bytes) else { return nil }
        return Reservation(budget: self, bytes: bytes)
    }

    /// Adds `bytes` to the reserved total if it stays within the limit for a body of `bodyTotal` bytes.
    fileprivate func take(_ bytes: Int, bodyTotal: Int) -> Bool {
        precondition(bytes >= 0)
        let limit = bodyTotal <= smallBody ? capacity : bulkCapacity
        var current = inFlight.load(ordering: .relaxed)
        while true {
            guard current + bytes <= limit else { return false }
            let (exchanged, original) = inFlight.compareExchange(
                expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    fileprivate func give(_ bytes: Int) {
        let before = inFlight.subtract(bytes, ordering: .relaxed).oldValue
        // Invariant: only what was taken is given back, once.
        assert(before >= bytes, "a body budget released \(bytes) bytes but held \(before)")
    }

    /// Bytes held for one body; released when it goes out of scope.
    struct Reservation: ~Copyable {
        private let budget: BodyBudget
        /// The bytes held.
        private(set) var bytes: Int

        fileprivate init(budget: BodyBudget, bytes: Int) {
            self.budget = budget
            self.bytes = bytes
        }

        /// Holds `more` bytes besides, for a body that turned out longer than reserved (a chunked one).
        ///
        /// - Returns: false, holding no more, if the budget has no room for them.
        mutating func grow(by more: Int) -> Bool {
            guard budget.take(more, bodyTotal: bytes + more) else { return false }
            bytes += more
            return true
        }

        deinit { budget.give(bytes) }
    }
}
