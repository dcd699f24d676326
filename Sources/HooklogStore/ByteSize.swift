/// Sizes as the command line writes them: `1048576`, `1048576b`, `512k`, `4m`, `1g` (binary multiples,
/// either case).
public enum ByteSize {
    /// The bytes `text` says; nil for anything else, or for a size past `Int.max`.
    ///
    /// The count comes from the command line, so it is multiplied with overflow reported: `99999999999999g`
    /// is refused, never multiplied past `Int`. A negative count parses (callers that need a positive size
    /// say so in their own words).
    public static func parse(_ text: String) -> Int? {
        let lower = text.lowercased()
        let multiplier: Int
        switch lower.last {
        case "k": multiplier = 1 << 10
        case "m": multiplier = 1 << 20
        case "g": multiplier = 1 << 30
        default: return Int(lower.hasSuffix("b") ? String(lower.dropLast()) : lower)
        }
        guard let n = Int(lower.dropLast()) else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }
}
