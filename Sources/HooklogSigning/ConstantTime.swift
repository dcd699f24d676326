/// Comparison that takes the same time whatever the inputs hold, so that a caller cannot learn a secret
/// byte by byte from how fast a wrong guess is refused.
public enum ConstantTime {
    /// Whether `a` and `b` are equal. Time depends on their lengths only.
    public static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | (a.count == b.count ? 0 : 1)
        if a.count != b.count {
            // Still walk `a` against itself so a length mismatch costs about what a compare does.
            for x in a { difference |= x ^ x }
            return false
        }
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    /// Whether two strings have equal UTF-8 bytes, in constant time.
    public static func equal(_ a: String, _ b: String) -> Bool {
        equal(Array(a.utf8), Array(b.utf8))
    }
}
