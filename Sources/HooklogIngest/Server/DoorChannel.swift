import HummingbirdCore
import Logging
import Metrics
import NIOCore

/// Hummingbird's HTTP/1.1 connection, with hooklog's door in front: at most `--max-connections` open at
/// once (the rest are answered `503` and closed unread) and a head timeout (`--head-timeout`).
///
/// The pipeline of a connection let in: `HeadTimeoutHandler` on the raw bytes, then Hummingbird's HTTP/1.1
/// handlers (`HTTP1Channel`) with `ExchangeHandler` among them, right after the HTTP codec.
struct DoorChannel: ServerChildChannel {
    /// A connection as set up: its HTTP channel, or nil for one refused at the gate.
    struct Connection: ServerChildChannelValue {
        let channel: any Channel
        let http: HTTP1Channel.Value?
    }

    typealias Value = Connection

    let http1: HTTP1Channel
    let gate: ConnectionGate
    let headTimeout: TimeAmount
    private let refused = Counter(label: "hooklog_connections_refused_total")
    private let lateHeads = Counter(label: "hooklog_head_timeouts_total")

    init(responder: @escaping HTTPChannelHandler.Responder, settings: IngestSettings) {
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ExchangeHandler()], idleTimeout: TimeAmount(settings.idleTimeout))
        http1 = HTTP1Channel(responder: responder, configuration: configuration)
        gate = ConnectionGate(limit: settings.maxConnections)
        headTimeout = TimeAmount(settings.headTimeout)
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        guard gate.enter() else {
            refused.increment()
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(RefusingHandler())
                return Connection(channel: channel, http: nil)
            }
        }
        let gate = self.gate
        channel.closeFuture.whenComplete { _ in gate.leave() }
        let lateHeads = self.lateHeads
        let headTimeout = HeadTimeoutHandler(timeout: self.headTimeout) { lateHeads.increment() }
        do {
            try channel.pipeline.syncOperations.addHandler(headTimeout)
        } catch {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(error)
        }
        return http1.setup(channel: channel, logger: logger).map { Connection(channel: channel, http: $0) }
    }

    func handle(value: Connection, logger: Logger) async {
        // A refused connection closes by itself once its answer is written.
        guard let http = value.http else { return }
        await http1.handle(value: http, logger: logger)
    }
}
