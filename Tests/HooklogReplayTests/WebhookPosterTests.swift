import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import HooklogReplay

/// A receiver on 127.0.0.1 that answers each connection's first request with `head`, then `body` in
/// pieces of `piece` bytes, one every `pace`: a receiver that trickles its answer, or one that sends a big one.
final class PacedReceiver: Sendable {
    let channel: any Channel
    /// Connections answered.
    let answered = Counter()

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }
    var port: Int { channel.localAddress?.port ?? 0 }
    var url: String { "http://127.0.0.1:\(port)/hook" }

    init(head: String, body: [UInt8], piece: Int, pace: TimeAmount) async throws {
        let answered = self.answered
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(
                        PacedAnswer(head: Array(head.utf8), body: body, piece: piece, pace: pace, answered: answered))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async { try? await channel.close() }

    /// Runs `body` with a receiver that is stopped however `body` ends.
    static func with<T>(
        head: String, body: [UInt8], piece: Int, pace: TimeAmount, _ run: (PacedReceiver) async throws -> T
    ) async throws -> T {
        let receiver = try await PacedReceiver(head: head, body: body, piece: piece, pace: pace)
        do {
            let result = try await run(receiver)
            await receiver.stop()
            return result
        } catch {
            await receiver.stop()
            throw error
        }
    }
}

/// `@unchecked Sendable`: used on its channel's event loop only.
private final class PacedAnswer: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let head: [UInt8], body: [UInt8], piece: Int, pace: TimeAmount
    let answered: PacedReceiver.Counter
    var started = false
    var sent = 0

    init(head: [UInt8], body: [UInt8], piece: Int, pace: TimeAmount, answered: PacedReceiver.Counter) {
        (self.head, self.body, self.piece, self.pace, self.answered) = (head, body, piece, pace, answered)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !started else { return }
        started = true
        answered.value.add(1, ordering: .relaxed)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: head)), promise: nil)
        sendPiece(context)
    }

    func sendPiece(_ context: ChannelHandlerContext) {
        guard sent < body.count, context.channel.isActive else { return }
        let end = min(sent + piece, body.count)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: body[sent..<end])), promise: nil)
        sent = end
        context.eventLoop.assumeIsolated().scheduleTask(in: pace) { self.sendPiece(context) }
    }
}

@Suite(.serialized) struct WebhookPosterTests {
    enum Client: String, CaseIterable { case plain, asyncHTTPClient }

    /// Runs `body` with a poster of `client` for `url`, closed (and its client shut down) however `body` ends.
    func withPoster<T>(_ client: Client, _ url: String, _ body: (any WebhookPoster) async throws -> T) async throws -> T
    {
        let http: HTTPClient? =
            client == .asyncHTTPClient ? HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup) : nil
        let poster: any WebhookPoster =
            if let http { AsyncHTTPClientPoster(client: http, url: url) } else {
                PlainHTTPConnection(
                    target: PlainHTTPConnection.Target(url)!, group: MultiThreadedEventLoopGroup.singleton)
            }
        func cleanUp() async {
            await poster.close()
            try? await http?.shutdown()
        }
        do {
            let result = try await body(poster)
            await cleanUp()
            return result
        } catch {
            await cleanUp()
            throw error
        }
    }

    @Test(
        "an answer whose head comes but whose body trickles (a byte a second) times out at the request's timeout",
        .timeLimit(.minutes(1)), arguments: Client.allCases)
    func aTricklingBodyTimesOut(client: Client) async throws {
        try await PacedReceiver.with(
            head: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
            body: Array(repeating: UInt8(ascii: "x"), count: 100), piece: 1,
            pace: .seconds(1)
        ) { receiver in
            try await withPoster(client, receiver.url) { poster in
                let started = ContinuousClock.now
                await #expect(throws: AnswerBodyTimedOut.self) {
                    _ = try await poster.post(headers: [], body: Array("{}".utf8), timeout: .milliseconds(1500))
                }
                let elapsed = ContinuousClock.now - started
                // Cut at the timeout, not left to the 100 s body (with room for a loaded machine).
                #expect(elapsed >= .milliseconds(1400) && elapsed < .seconds(30), "\(elapsed)")
                #expect(receiver.answered.value.load(ordering: .relaxed) == 1)
            }
        }
    }

    @Test(
        "a huge answer body is read only so far (and not kept): the answer stands", .timeLimit(.minutes(1)),
        arguments: Client.allCases)
    func aHugeBodyIsCapped(client: Client) async throws {
        // 64 MiB announced, 8 MiB sent at once: more than replay reads, and it never ends.
        try await PacedReceiver.with(
            head: "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3\r\nContent-Length: 67108864\r\n\r\n",
            body: Array(repeating: UInt8(ascii: "x"), count: 8 << 20), piece: 1 << 20, pace: .milliseconds(1)
        ) { receiver in
            try await withPoster(client, receiver.url) { poster in
                // An answer, not a timeout: the rest of the 64 MiB never comes.
                let answer = try await poster.post(headers: [], body: Array("{}".utf8), timeout: .seconds(30))
                #expect(answer.status == 503 && answer.retryAfter == "3")
            }
        }
    }

    @Test("a whole answer in time is an answer, its body arriving in pieces", arguments: Client.allCases)
    func aWholeAnswerIsAnAnswer(client: Client) async throws {
        try await PacedReceiver.with(
            head: "HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\n", body: Array("hello".utf8), piece: 2,
            pace: .milliseconds(20)
        ) { receiver in
            try await withPoster(client, receiver.url) { poster in
                let answer = try await poster.post(
                    headers: [("Content-Type", "application/json")], body: Array("{}".utf8), timeout: .seconds(5))
                #expect(answer.status == 202)
            }
        }
    }
}
