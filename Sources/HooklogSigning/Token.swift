/// Bearer tokens: generated at random, shown once, stored as their SHA-256 only.
public enum Token {
    /// A fresh token: `prefix` then 32 random bytes (256 bits) in URL-safe base64, so it can sit in a
    /// webhook URL's path as it is.
    public static func generate(prefix: String = "hl_") -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return prefix + Encoding.base64URL(bytes)
    }

    /// What is stored instead of the token: its SHA-256 in hex. A token has 256 bits of entropy, so an
    /// unsalted fast hash is enough: nothing can be guessed from it, and lookups stay one dictionary probe.
    public static func hash(_ token: String) -> String {
        Encoding.hex(HMACSHA256.digest(Array(token.utf8)))
    }
}
