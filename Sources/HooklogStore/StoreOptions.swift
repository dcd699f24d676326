/// How a store lays out and keeps its log.
public struct StoreOptions: Sendable {
    /// A segment is sealed (its index written, a new one started) once its log reaches this many bytes.
    public var segmentSize: Int = 64 << 20
    /// Uncompressed bytes per LZ4 block. A point read decodes up to one block, so smaller blocks answer an
    /// entity lookup faster; LZ4 looks back 64 KB, so larger blocks gain little ratio. Measured on 300k
    /// events: 32 KB → lookup p99 109 µs, 1/12.9 of the payload bytes; 64 KB → 164 µs, 1/14.1;
    /// 128 KB → 367 µs, 1/14.9.
    public var blockSize: Int = 64 << 10
    /// Sealed segments whose newest event is older than this are deleted. `nil`: keep forever.
    public var maxAge: Duration?
    /// Oldest sealed segments are deleted while the log is larger than this. `nil`: no limit.
    public var maxBytes: UInt64?
    /// Whether sealed segments are recompressed with LZ4HC in the background (see `SegmentRecompressor`).
    public var recompressSealed: Bool = true
    /// The LZ4HC level for sealed segments (1–12; 4 measured as the best size per CPU second here).
    public var recompressionLevel: Int = 4
    /// Sealed segments that may wait for recompression with their index in memory; one sealed while as
    /// many wait stays fast LZ4 (as valid, 28 % larger) until the recompression thread is idle, and is
    /// then recompressed from its log, so a sustained burst never holds unbounded memory. Segments left
    /// fast LZ4 by a stop are recompressed the same way after the next open.
    public var recompressionBacklog: Int = 2
    /// Ingest rate (events a second) at or above which recompression waits: sealed segments stay fast
    /// LZ4 while ingest needs the CPU and are recompressed once it is quiet (see `IngestLoad`). `nil`:
    /// recompress as soon as a segment is sealed, whatever the load.
    ///
    /// 2,000 (it was 10,000): on the 2-core benchmark machine, any CPU the background takes while ingest
    /// runs shows in the acknowledgements, whatever its priority (the VM's host throttles it as a whole:
    /// an idle-class busy loop beside 9k paced req/s took their p99 from 2.6-3.8 to 5.0-5.4 ms). A
    /// recompression is 5-6 s of CPU; one that ran beside the ingest benchmark's paced phase (9.9k req/s,
    /// just under the old threshold) held half-second stretches of acknowledgements at a 5-7 ms median.
    /// Under a sustained rate above this, segments stay fast LZ4 (valid, 28 % larger) until a quiet moment.
    public var recompressionYieldsAbove: Int? = 2_000
    /// Whether a clean close waits for the recompressions still queued (tests), rather than leaving those
    /// segments fast LZ4 so that SIGTERM stops the server at once (the default).
    public var finishesRecompressionOnClose: Bool = false
    /// Whether appends wait for `fdatasync`. Only tests and benchmarks of the non-durable path turn it off.
    public var durable: Bool = true

    /// The defaults: 64 MB segments, 64 KB blocks, durable appends, no retention limit.
    public init() {}
}
