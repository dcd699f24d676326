import Crypto

/// HMAC-SHA256 and SHA-256 through swift-crypto (BoringSSL's constant-time implementations).
public enum HMACSHA256 {
    /// The MAC of the concatenation of `parts` under `key`.
    public static func mac(key: some Collection<UInt8>, _ parts: [UInt8]...) -> [UInt8] {
        mac(key: key, parts: parts)
    }

    /// The MAC of the concatenation of `parts` under `key`.
    public static func mac(key: some Collection<UInt8>, parts: [[UInt8]]) -> [UInt8] {
        var h = HMAC<SHA256>(key: SymmetricKey(data: Array(key)))
        for p in parts { h.update(data: p) }
        return Array(h.finalize())
    }

    /// SHA-256 of `bytes`.
    public static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] {
        Array(SHA256.hash(data: Array(bytes)))
    }
}
