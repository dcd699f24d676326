/// Everything ingest is configured with: accounts and generic sources. Kept in one file
/// (`DATA/accounts.json`) so that a change to both is seen whole or not at all.
public struct AccountBook: Sendable, Hashable, Codable {
    /// The file's layout version.
    public var version: Int = 1
    /// Accounts, in the order they were added.
    public var accounts: [Account] = []
    /// Generic sources, in the order they were added.
    public var sources: [GenericSource] = []

    /// An empty book.
    public init() {}

    /// The account named `name`.
    public func account(named name: String) -> Account? { accounts.first { $0.name == name } }

    /// The generic source named `name`.
    public func source(named name: String) -> GenericSource? { sources.first { $0.name == name } }

    /// The built-in source names, which a generic source cannot take.
    public static let builtInSources: Set<String> = ["orderspace", "o2vend"]
}
