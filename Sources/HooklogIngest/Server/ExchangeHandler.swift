import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Follows each request and its answer on one connection, after the HTTP codec:
/// - tells `HeadTimeoutHandler` when a head has arrived and when every request read has been answered;
/// - closes the connection once a response is written that says `Connection: close`, or that answers a
///   request whose body has not all arrived (and then says `Connection: close` itself).
///
/// Hummingbird reads (and drops) a request's unread body after the route has answered, to reach the
/// next request on the connection, at whatever pace the client sends it and with no body timeout. A
/// request answered before its body is in (an unknown token or path, a body over the limit or over the
/// budget) would so hold its connection as long as the client trickles: it is closed instead, its body
/// unread.
final class ExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var headsRead = 0
    private var endsRead = 0
    private var answered = 0
    private var closeAfterAnswer = false

    init() {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            headsRead += 1
            context.triggerUserOutboundEvent(HeadTimeoutHandler.Event.headArrived, promise: nil)
        case .body:
            break
        case .end:
            endsRead += 1
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var response) where response.status.kind != .informational:
            // This answers request number `answered + 1`: is all of its body in?
            if endsRead <= answered, response.headerFields[.connection]?.lowercased() != "close" {
                response.headerFields[.connection] = "close"
                closeAfterAnswer = true
                context.write(wrapOutboundOut(.head(response)), promise: promise)
                return
            }
            if response.headerFields[.connection]?.lowercased() == "close" { closeAfterAnswer = true }
            context.write(data, promise: promise)
        case .head:
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            answered += 1
            guard closeAfterAnswer else {
                context.write(data, promise: promise)
                // Pipelined requests already read are still to be answered: their heads came in time.
                if answered == headsRead {
                    context.triggerUserOutboundEvent(HeadTimeoutHandler.Event.awaitingHead, promise: nil)
                }
                return
            }
            // Closed only once the answer is handed to the socket: a close fails the writes still pending.
            let written = context.eventLoop.makePromise(of: Void.self)
            if let promise { written.futureResult.cascade(to: promise) }
            context.writeAndFlush(data, promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}

@available(*, unavailable)
extension ExchangeHandler: Sendable {}
