import HooklogStore

/// One event on its way out: what shaping and signing need, nothing more.
struct ReplayEvent: Sendable {
    var seq: UInt64
    var entity: String?
    var id: String?
    /// The event's bytes exactly as received, in the decoded block they were read from (not copied), unless
    /// few events of that block are queued (then copied: see `Replayer.unpinSparseBlocks`).
    var payload: ArraySlice<UInt8>
    /// The size of the block `payload` is a slice of (see `Replayer.unpinSparseBlocks`).
    var blockBytes: Int
    /// The `--format ndjson` line (without newline), for the `envelope` shape only.
    var envelope: [UInt8]?
    /// Whether a matching event that the run skips (settled by an earlier run) lies between this event and
    /// the one issued before it (see `Ledger`: a range of failed events must not span a delivered one).
    var afterSkipped = false

    init(_ view: EventView, envelope: Bool) {
        seq = view.seq
        entity = view.entity
        id = view.id
        payload = view.payloadSlice
        blockBytes = view.blockBytes
        if envelope {
            var line: [UInt8] = []
            view.appendNDJSON(to: &line)
            self.envelope = line
        }
    }

    /// The lane (of `lanes`) this event's entity is always sent on, so that an entity's events go out one
    /// at a time, in `seq` order. Events without an entity are spread by `seq`.
    func lane(of lanes: Int) -> Int {
        guard let entity else { return Int(seq % UInt64(lanes)) }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for b in entity.utf8 {
            h ^= UInt64(b)
            h &*= 0x100_0000_01b3
        }
        return Int(h % UInt64(lanes))
    }
}
