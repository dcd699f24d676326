/// A tiny seeded PRNG (Steele, Lea & Flood's SplitMix64): fast, good enough for synthetic data, and the
/// same sequence on every platform and Swift version — which `SystemRandomNumberGenerator` is not.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose whole sequence follows from `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// SplitMix64's finaliser: a stateless hash, used to derive an object's attributes from its number
    /// so that an order re-sent a year later still has the same customer and lines.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Hashes several numbers into one (order-sensitive).
    @inline(__always)
    public static func hash(_ a: UInt64, _ b: UInt64, _ c: UInt64 = 0) -> UInt64 {
        mix(mix(mix(a) &+ b) &+ c)
    }

    /// A uniform integer in `0..<bound` (bound > 0); Lemire's multiply-shift, bias negligible here.
    @inline(__always)
    public mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform double in `[0, 1)`.
    @inline(__always)
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `p`.
    @inline(__always)
    public mutating func chance(_ p: Double) -> Bool {
        unit() < p
    }
}

/// Zipf-like ranks: rank 1 is the most popular, rank k about `1/k^s` as likely.
///
/// Sampled in O(1) by inverting the continuous approximation of the Zipf CDF, which is what a corpus
/// needs (a skewed but smooth popularity) without the O(n) table of an exact sampler.
public enum Zipf {
    /// A rank in `0..<n` (0 the most popular) for exponent `s` (> 0) and uniform `u` in [0, 1).
    @inline(__always)
    public static func rank(n: Int, s: Double, u: Double) -> Int {
        guard n > 1 else { return 0 }
        let x: Double
        if abs(s - 1) < 1e-9 {
            x = _exp(u * _log(Double(n) + 1))
        } else {
            let a = 1 - s
            x = _pow((_pow(Double(n) + 1, a) - 1) * u + 1, 1 / a)
        }
        return min(max(Int(x) - 1, 0), n - 1)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _exp(_ x: Double) -> Double { Glibc.exp(x) }
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func _exp(_ x: Double) -> Double { Darwin.exp(x) }
@inline(__always) func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { Darwin.pow(x, y) }
#endif
