import Metrics

/// The ingest side's metrics, through swift-metrics (the `serve` command bootstraps Prometheus).
///
/// Labels are bounded: routes are `orderspace`, `o2vend` or `generic`, statuses are the handful ingest
/// answers with. Account names and tokens are never labels.
struct IngestMetrics: Sendable {
    private let stored: [String: Counter]
    private let duplicates: [String: Counter]
    private let bytes: Counter
    private let ackLatency: Timer
    private let storeFailures: Counter

    init() {
        var stored: [String: Counter] = [:]
        var duplicates: [String: Counter] = [:]
        for route in ["orderspace", "o2vend", "generic"] {
            stored[route] = Counter(label: "hooklog_events_stored_total", dimensions: [("route", route)])
            duplicates[route] = Counter(label: "hooklog_events_duplicate_total", dimensions: [("route", route)])
        }
        self.stored = stored
        self.duplicates = duplicates
        bytes = Counter(label: "hooklog_received_bytes_total")
        ackLatency = Timer(label: "hooklog_ack_seconds", preferredDisplayUnit: .seconds)
        storeFailures = Counter(label: "hooklog_store_failures_total")
    }

    func accepted(_ route: IngestRoute, receipt: IngestReceipt, bytes count: Int, latency: Duration) {
        stored[route.metricLabel]?.increment(by: receipt.stored)
        duplicates[route.metricLabel]?.increment(by: receipt.duplicates)
        bytes.increment(by: count)
        ackLatency.record(duration: latency)
        Counter(label: "hooklog_requests_total", dimensions: [("route", route.metricLabel), ("status", "200")])
            .increment()
    }

    func refused(_ route: IngestRoute?, status: Int) {
        Counter(
            label: "hooklog_requests_total",
            dimensions: [("route", route?.metricLabel ?? "other"), ("status", String(status))]
        )
        .increment()
    }

    func storeFailed() { storeFailures.increment() }
}
