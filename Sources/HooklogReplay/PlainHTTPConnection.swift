import NIOCore
import NIOHTTP1
import NIOPosix

/// One lane's keep-alive HTTP/1.1 connection to an `http://` URL, on a SwiftNIO channel with NIO's HTTP/1
/// encoder and parser: the request (head and body) goes out in one write.
///
/// Hand-written because it is replay's hot path and measurably cheaper than AsyncHTTPClient here:
/// AsyncHTTPClient flushes a request's head and its body separately (two `write`s, two TCP segments
/// the receiver must read) and runs a connection pool, a request state machine and a task per request;
/// with the client and the receiver on the same 2 cores, 1-event replay sent 6,954 requests/s through it
/// (154 µs of client CPU a request, 116 µs at the sink against 88 µs for the same requests from wrk).
/// Replay only ever has one request in flight per lane, so the whole client is a channel per lane and
/// one continuation. `https://` URLs, and requests with headers this writer leaves to a full client, go
/// through AsyncHTTPClient (`AsyncHTTPClientPoster`).
final class PlainHTTPConnection: WebhookPoster {
    /// An `http://host[:port]/path?query` URL, split up.
    struct Target: Sendable, Equatable {
        var host: String
        var port: Int
        /// Path and query, as the request line sends them (at least `/`).
        var path: String

        /// Nil unless `url` is an `http://` URL this client can send to.
        init?(_ url: String) {
            guard url.lowercased().hasPrefix("http://") else { return nil }
            let rest = url.dropFirst("http://".count)
            let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            let authority = rest[..<end]
            guard !authority.isEmpty, !authority.contains("@") else { return nil }  // credentials: AsyncHTTPClient
            var path = String(rest[end...])
            if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
            if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
            guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
            var host = authority
            port = 80
            if authority.hasPrefix("[") {  // [IPv6]:port
                guard let close = authority.firstIndex(of: "]") else { return nil }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":"), let p = Self.port(after.dropFirst()) else { return nil }
                    port = p
                }
            } else if let colon = authority.firstIndex(of: ":") {
                // One colon, then digits only (an unbracketed IPv6 address, `+80` or an empty port is
                // left to AsyncHTTPClient's parser).
                guard let p = Self.port(authority[authority.index(after: colon)...]) else { return nil }
                host = authority[..<colon]
                port = p
            }
            guard !host.isEmpty else { return nil }
            self.host = String(host)
            self.path = path
        }

        /// A port written as digits only, 1 to 65535.
        static func port(_ digits: Substring) -> Int? {
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let p = Int(digits),
                (1...65535).contains(p)
            else { return nil }
            return p
        }

        /// The `Host` header's value.
        var hostHeader: String {
            let h = host.contains(":") ? "[\(host)]" : host
            return port == 80 ? h : "\(h):\(port)"
        }
    }

    /// Whether this writer sends `headers` as given: names and values without control characters, and
    /// none of the headers it writes itself or that change how the message is framed.
    static func accepts(_ headers: [(String, String)]) -> Bool {
        headers.allSatisfy { name, value in
            let lower = name.lowercased()
            return !["host", "content-length", "transfer-encoding", "connection", "expect", "upgrade"].contains(lower)
                && !name.isEmpty && name.utf8.allSatisfy(isTokenCharacter)
                && value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }
        }
    }

    /// RFC 9110's `tchar`: what a header name is made of.
    static func isTokenCharacter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
    }

    let target: Target
    let group: any EventLoopGroup
    let connectTimeout: TimeAmount
    private var channel: (any Channel)?
    private var handler: AnswerHandler?

    init(target: Target, group: any EventLoopGroup, connectTimeout: TimeAmount = .seconds(10)) {
        self.target = target
        self.group = group
        self.connectTimeout = connectTimeout
    }

    func post(headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> PostAnswer {
        // The deadline covers connecting too, as AsyncHTTPClient's does.
        let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
        var fields = HTTPHeaders()
        fields.reserveCapacity(headers.count + 2)
        fields.add(name: "Host", value: target.hostHeader)
        fields.add(name: "Content-Length", value: String(body.count))
        for (name, value) in headers { fields.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path, headers: fields)
        var reconnected = false
        while true {
            let (channel, handler) = try await connection(deadline: deadline)
            let request = AnswerHandler.Request(head: head, body: channel.allocator.buffer(bytes: body))
            do {
                // A continuation resumed on the event loop, not an `EventLoopFuture`: the futures' generic
                // machinery (metadata lookups, callback lists) was a tenth of replay's CPU.
                let result = try await withCheckedThrowingContinuation {
                    (continuation: CheckedContinuation<AnswerHandler.Result, any Error>) in
                    channel.eventLoop.execute {
                        handler.send(request, on: channel, deadline: deadline, answer: continuation)
                    }
                }
                if !result.keepAlive { await drop() }
                return result.answer
            } catch is AnswerHandler.NotSent where !reconnected {
                // The server closed the idle connection before the request went out: nothing was sent,
                // so a new connection takes it at once, without counting a try.
                reconnected = true
                await drop()
            } catch {
                await drop()
                throw error
            }
        }
    }

    func close() async { await drop() }

    /// The open connection, or a new one.
    private func connection(deadline: NIODeadline) async throws -> (any Channel, AnswerHandler) {
        if let channel, let handler, channel.isActive { return (channel, handler) }
        await drop()
        let handler = AnswerHandler()
        let left = deadline - NIODeadline.now()
        guard left > .zero else { throw AnswerHandler.Closed(description: "no answer within the timeout") }
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(min(connectTimeout, left))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Header names and values were checked once for the whole run (`accepts`), not a request.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: target.host, port: target.port).get()
        self.channel = channel
        self.handler = handler
        return (channel, handler)
    }

    private func drop() async {
        if let channel { try? await channel.close() }
        channel = nil
        handler = nil
    }
}

/// Reads the answer to the request in flight (one at a time) on the connection's event loop.
///
/// `@unchecked Sendable`: every property is touched on the channel's event loop only (`send` runs there
/// through `execute`, the rest are channel callbacks).
private final class AnswerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    struct Result {
        var answer: PostAnswer
        /// Whether the connection may carry the next request.
        var keepAlive: Bool
    }

    struct Closed: Error, CustomStringConvertible {
        var description: String
    }

    /// The connection was closed before the request could be written: nothing was sent.
    struct NotSent: Error, CustomStringConvertible {
        var description: String { "the connection closed before the request was sent" }
    }

    private var pending: CheckedContinuation<Result, any Error>?
    private var timer: Scheduled<Void>?
    private var head: HTTPResponseHead?
    /// The answer's body bytes so far (read and dropped).
    private var bodyBytes = 0

    /// A request: its head and its body.
    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: ByteBuffer
    }

    /// Writes `request` and resumes `answer` with its answer (or an error); on the channel's event loop.
    func send(
        _ request: Request, on channel: any Channel, deadline: NIODeadline,
        answer: CheckedContinuation<Result, any Error>
    ) {
        guard pending == nil, channel.isActive else {
            answer.resume(throwing: NotSent())
            return
        }
        pending = answer
        head = nil
        bodyBytes = 0
        timer = channel.eventLoop.scheduleTask(deadline: deadline) { [self] in
            // Without its whole body an answer is incomplete (RFC 9112, 8): tried again like no answer,
            // as AsyncHTTPClientPoster does. The connection, mid-answer, is not used again.
            fail(head == nil ? Closed(description: "no answer within the timeout") : AnswerBodyTimedOut())
            channel.close(promise: nil)
        }
        // Head, body and end are flushed together: one `writev`, one TCP segment for a small request.
        // (A failed write closes the channel: `channelInactive` fails the request.)
        channel.write(HTTPClientRequestPart.head(request.head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(request.body)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            if h.status.code >= 100 && h.status.code < 200 { return }  // an interim answer: the real one follows
            head = h
        case .body(let part):
            // The answer's body is not needed; past `maximumAnswerBodyBytes` the answer stands without the
            // rest, and the connection, mid-body, is closed rather than read on.
            bodyBytes += part.readableBytes
            guard bodyBytes > maximumAnswerBodyBytes, let head, let continuation = pending else { return }
            pending = nil
            self.head = nil
            timer?.cancel()
            continuation.resume(returning: Result(answer: Self.answer(head), keepAlive: false))
        case .end:
            guard let head, let continuation = pending else { return }
            pending = nil
            self.head = nil
            timer?.cancel()
            continuation.resume(returning: Result(answer: Self.answer(head), keepAlive: head.isKeepAlive))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(Closed(description: "the server closed the connection"))
        context.fireChannelInactive()
    }

    /// What replay needs of an answer's head.
    private static func answer(_ head: HTTPResponseHead) -> PostAnswer {
        PostAnswer(status: Int(head.status.code), retryAfter: head.headers.first(name: "Retry-After"))
    }

    private func fail(_ error: any Error) {
        guard let continuation = pending else { return }
        pending = nil
        timer?.cancel()
        continuation.resume(throwing: error)
    }
}
