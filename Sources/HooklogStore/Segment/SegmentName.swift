/// How segment and index files are named: by the seq of their first event, zero-padded to 20 digits so
/// that a plain `ls` lists them in log order.
enum SegmentName {
    static let logSuffix = ".log"
    static let indexSuffix = ".idx"

    static func log(_ base: UInt64) -> String { pad(base) + logSuffix }
    static func index(_ base: UInt64) -> String { pad(base) + indexSuffix }

    private static func pad(_ n: UInt64) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// The base seq of a segment file name, or nil for any other name.
    static func baseSeq(ofLog name: String) -> UInt64? {
        guard name.hasSuffix(logSuffix), name.count == 20 + logSuffix.count else { return nil }
        return UInt64(name.dropLast(logSuffix.count))
    }
}
