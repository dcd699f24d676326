import Corpus
import HooklogStore

extension CorpusEvent {
    /// The event as the store takes it.
    public var newEvent: NewEvent {
        NewEvent(account: account, source: source, type: type, entity: entity, refs: refs, id: id, payload: payload)
    }
}

extension CorpusGenerator {
    /// The next `batches` batches of `size` events.
    public mutating func batches(_ batches: Int, of size: Int) -> [[CorpusEvent]] {
        (0..<batches).map { _ in take(size) }
    }
}
