import NIOCore

/// Closes a connection whose request head does not arrive whole within the head timeout
/// (`--head-timeout`): a client that connects and sends nothing, or trickles header bytes.
///
/// It sits first in the pipeline, on the raw bytes, since a head still arriving is only bytes: the HTTP
/// decoder passes nothing on until the head is whole, and Hummingbird's idle timeout counts only whole
/// parts, so on its own it lets a trickled head hold the connection for the whole idle timeout.
/// `ExchangeHandler`, after the HTTP codec, tells it (as outbound user events) when a head has arrived
/// and when the connection has answered everything and waits for the next one.
///
/// The clock runs from the connection's start, and on a kept-alive connection from the first byte of
/// the next request: a connection idle between requests is left to the idle timeout.
final class HeadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// What `ExchangeHandler` tells it.
    enum Event: Sendable {
        /// A request head has been decoded whole.
        case headArrived
        /// Every request read has been answered; the next bytes start a new head.
        case awaitingHead
    }

    private enum State {
        /// Between requests, nothing received: the next byte starts the clock.
        case idle
        /// A head is due by a deadline.
        case awaitingHead(Scheduled<Void>)
        /// A request is being read or answered: its body has a timeout of its own.
        case inRequest
        case closed
    }

    private let timeout: TimeAmount
    private let onTimeout: @Sendable () -> Void
    private var state = State.idle

    /// - Parameter onTimeout: called (on the event loop) when a connection is closed for a late head.
    init(timeout: TimeAmount, onTimeout: @escaping @Sendable () -> Void = {}) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startClock(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopClock()
        state = .closed
    }

    func channelActive(context: ChannelHandlerContext) {
        startClock(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopClock()
        state = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .idle = state { startClock(context) }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let event = event as? Event else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch (event, state) {
        case (_, .closed):
            break
        case (.headArrived, _):
            stopClock()
            state = .inRequest
        case (.awaitingHead, .inRequest):
            state = .idle
        case (.awaitingHead, _):
            break
        }
        promise?.succeed()
    }

    private func startClock(_ context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        let timeout = self.timeout
        let task = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            guard case .awaitingHead = self.state else { return }
            self.state = .closed
            self.onTimeout()
            context.close(promise: nil)
        }
        state = .awaitingHead(task)
    }

    private func stopClock() {
        if case .awaitingHead(let task) = state {
            task.cancel()
            state = .idle
        }
    }
}

@available(*, unavailable)
extension HeadTimeoutHandler: Sendable {}
