import HooklogSigning

/// A sender allowed to deliver webhooks, known by its token.
///
/// The token itself is never stored, only its SHA-256 (`Token.hash`). What an O2VEND delivery must show
/// (its secret header, its custom headers) is stored hashed too and compared hash to hash in constant
/// time. An HMAC signing key cannot be hashed (it is needed to compute the MAC), so it is the one secret
/// kept as given, in a file only its owner can read.
public struct Account: Sendable, Hashable, Codable {
    /// A header an account's deliveries must carry with a given value.
    public struct RequiredHeader: Sendable, Hashable, Codable {
        /// The header's name, as configured.
        public var name: String
        /// SHA-256 (hex) of the value it must have.
        public var valueHash: String

        /// Creates a requirement for `name: value`.
        public init(name: String, value: String) {
            self.name = name
            self.valueHash = Token.hash(value)
        }
    }

    /// The account's name, stored with each of its events.
    public var name: String
    /// The source it delivers as: `orderspace`, `o2vend`, a generic source's name, or `*` for any
    /// (the `default` account `serve` creates on first start).
    public var source: String
    /// SHA-256 (hex) of its current token.
    public var tokenHash: String
    /// The HMAC key its deliveries are signed with (Orderspace's signing key, a generic source's secret).
    public var signingKey: String?
    /// SHA-256 (hex) of the O2VEND subscription secret its deliveries carry.
    public var secretHash: String?
    /// The header that carries the O2VEND secret.
    public var secretHeader: String?
    /// Headers every delivery must carry.
    public var headers: [RequiredHeader]
    /// When it was added (RFC 3339).
    public var created: String

    /// The source that means "any".
    public static let anySource = "*"

    /// Creates an account.
    public init(
        name: String, source: String, tokenHash: String, signingKey: String? = nil, secretHash: String? = nil,
        secretHeader: String? = nil, headers: [RequiredHeader] = [], created: String
    ) {
        self.name = name
        self.source = source
        self.tokenHash = tokenHash
        self.signingKey = signingKey
        self.secretHash = secretHash
        self.secretHeader = secretHeader
        self.headers = headers
        self.created = created
    }

    /// Whether this account may deliver as `source`.
    public func accepts(source other: String) -> Bool { source == Account.anySource || source == other }

    /// Whether `name` can name an account: 1–64 letters, digits, `.`, `_` or `-`, not starting with `.`
    /// or `-` (it appears in URLs printed for the user and in every stored event).
    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count), let first = name.utf8.first,
            first != UInt8(ascii: "."), first != UInt8(ascii: "-")
        else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F
                || c == 0x2D
        }
    }
}
