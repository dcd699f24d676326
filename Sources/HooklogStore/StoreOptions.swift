/// How a store lays out and keeps its log.
public struct StoreOptions: Sendable {
    /// A segment is sealed (its index written, a new one started) once its log reaches this many bytes.
    public var segmentSize: Int = 64 << 20
    /// Uncompressed bytes per LZ4 block. LZ4 looks back 64 KB, so larger blocks gain little ratio and cost
    /// more to decode for a point read; smaller ones lose ratio at every block start.
    public var blockSize: Int = 128 << 10
    /// Sealed segments whose newest event is older than this are deleted. `nil`: keep forever.
    public var maxAge: Duration?
    /// Oldest sealed segments are deleted while the log is larger than this. `nil`: no limit.
    public var maxBytes: UInt64?
    /// Whether appends wait for `fdatasync`. Only tests and benchmarks of the non-durable path turn it off.
    public var durable: Bool = true

    /// The defaults: 64 MB segments, 128 KB blocks, durable appends, no retention limit.
    public init() {}
}
