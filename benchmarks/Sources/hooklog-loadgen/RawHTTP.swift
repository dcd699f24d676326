// A lean HTTP/1.1 load driver on SwiftNIO channels: each connection sends its next request from its
// own event loop as soon as the previous answer has ended, with no task, lock or pool between. It costs
// a fraction of AsyncHTTPClient's CPU per request, which matters when client and server share 2 cores.
import NIOCore
import NIOHTTP1
import NIOPosix

/// `http://HOST:PORT/PATH` split up.
struct Target: Sendable {
    var host: String
    var port: Int
    var path: String
    /// The `Host` header's value.
    var hostHeader: String { "\(host):\(port)" }

    init(_ url: String) throws {
        guard url.hasPrefix("http://") else { throw LoadError("only http:// URLs: \(url)") }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        if let colon = authority.lastIndex(of: ":"), let p = Int(authority[authority.index(after: colon)...]) {
            host = String(authority[..<colon])
            port = p
        } else {
            host = String(authority)
            port = 80
        }
    }
}

struct LoadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What every connection of a closed-loop run shares.
final class ClosedLoopPlan: Sendable {
    let target: Target
    let measureFrom: Int
    let end: Int
    let counter = Counter()
    let hostHeader: String
    let request: @Sendable (Int) -> (body: ByteBuffer, payloadBytes: Int)

    init(target: Target, measureFrom: Int, end: Int, request: @escaping @Sendable (Int) -> (body: ByteBuffer, payloadBytes: Int)) {
        self.target = target
        hostHeader = target.hostHeader
        self.measureFrom = measureFrom
        self.end = end
        self.request = request
    }
}

/// The head of a request.
func requestHead(_ target: Target, hostHeader: String, contentLength: Int) -> HTTPRequestHead {
    var headers = HTTPHeaders()
    headers.reserveCapacity(3)
    headers.add(name: "Host", value: hostHeader)
    headers.add(name: "Content-Type", value: "application/json")
    headers.add(name: "Content-Length", value: String(contentLength))
    return HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path, headers: headers)
}

/// Reads one answer: status and (small) body.
struct AnswerReader {
    var status = 0
    var body: ByteBuffer?

    mutating func reset() {
        status = 0
        body = nil
    }

    /// Feeds a part; returns the answer at `.end`.
    mutating func feed(_ part: HTTPClientResponsePart) -> Answer? {
        switch part {
        case .head(let head):
            status = Int(head.status.code)
        case .body(var buffer):
            if body == nil { body = buffer } else { body!.writeBuffer(&buffer) }
        case .end:
            let answer: Answer = status == 200 ? .ok(body) : .status(status, body ?? ByteBuffer())
            reset()
            return answer
        }
        return nil
    }
}

/// One connection of a closed-loop run (confined to its channel's event loop).
final class ClosedLoopConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let plan: ClosedLoopPlan
    let done: EventLoopPromise<(Tally, Tally)>
    var measured = Tally()
    var outside = Tally()
    var reader = AnswerReader()
    var sentAt = 0
    var sentBytes = 0
    var sentPayload = 0
    var inFlight = false
    var finished = false

    init(plan: ClosedLoopPlan, done: EventLoopPromise<(Tally, Tally)>) {
        self.plan = plan
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        sendNext(context: context)
    }

    func sendNext(context: ChannelHandlerContext) {
        let t = nowNanos()
        if t >= plan.end {
            finish(context: context)
            return
        }
        let (body, payload) = plan.request(plan.counter.next())
        sentAt = t
        sentBytes = body.readableBytes
        sentPayload = payload
        inFlight = true
        context.write(wrapOutboundOut(.head(requestHead(plan.target, hostHeader: plan.hostHeader, contentLength: body.readableBytes))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let answer = reader.feed(unwrapInboundIn(data)) else { return }
        inFlight = false
        record(answer, done: nowNanos())
        sendNext(context: context)
    }

    func record(_ answer: Answer, done: Int) {
        if sentAt >= plan.measureFrom && done <= plan.end {
            measured.latencies.append(done - sentAt)
            measured.count(answer)
            measured.bytesSent += sentBytes
            if case .ok = answer { measured.okPayloadBytes += sentPayload }
        } else {
            outside.count(answer)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if inFlight {
            inFlight = false
            record(.error("\(error)"), done: nowNanos())
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if inFlight {
            inFlight = false
            record(.error("the server closed the connection with a request in flight"), done: nowNanos())
        }
        finish(context: context)
    }

    func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        done.succeed((measured, outside))
        context.close(promise: nil)
    }
}

/// Runs `connections` closed-loop connections to `plan.target` on `group`.
func runClosedLoop(group: MultiThreadedEventLoopGroup, connections: Int, plan: ClosedLoopPlan) async throws -> (Tally, Tally) {
    var futures: [EventLoopFuture<(Tally, Tally)>] = []
    for _ in 0..<connections {
        let loop = group.next()
        let done = loop.makePromise(of: (Tally, Tally).self)
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ClosedLoopConnection(plan: plan, done: done))
                }
            }
        let connect = bootstrap.connect(host: plan.target.host, port: plan.target.port)
        connect.whenFailure { done.fail($0) }
        futures.append(done.futureResult)
    }
    var measured = Tally()
    var outside = Tally()
    for f in futures {
        let (m, o) = try await f.get()
        measured.merge(m)
        outside.merge(o)
    }
    return (measured, outside)
}

// MARK: - Open loop

/// An open-loop run: requests are due at a fixed rate whatever the answers; a due request goes out on an
/// idle connection at once, or waits (its wait counted in the latency from its scheduled time) for one.
/// Everything runs on one event loop.
final class PacedRun: @unchecked Sendable {  // confined to `loop`
    struct Record {
        var due: Int
        var sent: Int
        var done: Int
        var answer: Answer
        var bytes: Int
    }

    let loop: any EventLoop
    let target: Target
    let hostHeader: String
    let start: Int
    let measureFrom: Int
    let end: Int
    let interval: Double
    let body: @Sendable (Int) -> ByteBuffer
    let finished: EventLoopPromise<Void>
    var next = 0
    var waiting: [(index: Int, due: Int)] = []
    var waitingHead = 0
    var idle: [PacedConnection] = []
    var open = 0
    var inFlight = 0
    var records: [Record] = []
    var maxWaiting = 0
    var scheduling = true

    init(loop: any EventLoop, target: Target, rate: Double, start: Int, measureFrom: Int, end: Int, body: @escaping @Sendable (Int) -> ByteBuffer) {
        self.loop = loop
        self.target = target
        hostHeader = target.hostHeader
        self.start = start
        self.measureFrom = measureFrom
        self.end = end
        interval = 1e9 / rate
        self.body = body
        finished = loop.makePromise()
        records.reserveCapacity(Int(rate * Double(end - start) / 1e9) + 1024)
    }

    func due(_ i: Int) -> Int { start + Int((Double(i) * interval).rounded()) }

    /// Queues what is due, hands it to idle connections, and sets the timer for the next due request.
    func tick() {
        let now = nowNanos()
        while scheduling {
            let d = due(next)
            if d >= end {
                scheduling = false
                break
            }
            if d > now { break }
            waiting.append((next, d))
            next += 1
        }
        maxWaiting = max(maxWaiting, waiting.count - waitingHead)
        dispatch()
        if scheduling {
            loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(due(next))), { self.tick() })
        } else {
            checkFinished()
        }
    }

    func dispatch() {
        while waitingHead < waiting.count, let connection = idle.popLast() {
            let (index, due) = waiting[waitingHead]
            waitingHead += 1
            inFlight += 1
            connection.send(index: index, due: due, body: body(index))
        }
        if waitingHead > 4096 && waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }

    func answered(_ connection: PacedConnection, record: Record) {
        inFlight -= 1
        records.append(record)
        idle.append(connection)
        dispatch()
        checkFinished()
    }

    func lost(_ connection: PacedConnection, record: Record?) {
        open -= 1
        if let record {
            inFlight -= 1
            records.append(record)
        }
        if open == 0 {
            // Nothing left to send on: what is still waiting is never sent.
            scheduling = false
            waiting.removeAll()
            waitingHead = 0
        }
        checkFinished()
    }

    func checkFinished() {
        if !scheduling && inFlight == 0 && waitingHead >= waiting.count {
            finished.succeed(())
        }
    }
}

final class PacedConnection: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let run: PacedRun
    var context: ChannelHandlerContext?
    var reader = AnswerReader()
    var current: (due: Int, sent: Int, bytes: Int)?

    init(run: PacedRun) { self.run = run }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        run.open += 1
        run.idle.append(self)
        run.dispatch()
    }

    func send(index: Int, due: Int, body: ByteBuffer) {
        guard let context else { return }
        current = (due, nowNanos(), body.readableBytes)
        context.write(wrapOutboundOut(.head(requestHead(run.target, hostHeader: run.hostHeader, contentLength: body.readableBytes))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let answer = reader.feed(unwrapInboundIn(data)), let c = current else { return }
        current = nil
        run.answered(self, record: .init(due: c.due, sent: c.sent, done: nowNanos(), answer: answer, bytes: c.bytes))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        run.idle.removeAll { $0 === self }
        let record = current.map {
            PacedRun.Record(due: $0.due, sent: $0.sent, done: nowNanos(), answer: .error("the connection closed with a request in flight"), bytes: $0.bytes)
        }
        current = nil
        run.lost(self, record: record)
    }
}

/// Opens `connections` connections on one event loop, then runs the schedule.
func runPaced(
    group: MultiThreadedEventLoopGroup, connections: Int, target: Target, rate: Double, warmup: Double, seconds: Double,
    cpuAt: @escaping @Sendable () -> Void, body: @escaping @Sendable (Int) -> ByteBuffer
) async throws -> (records: [PacedRun.Record], measureFrom: Int, maxWaiting: Int) {
    let loop = group.next()
    // The schedule starts once every connection is up (setting them up is not part of the run).
    let start = nowNanos() + 500_000_000
    let measureFrom = start + Int(warmup * 1e9)
    let end = measureFrom + Int(seconds * 1e9)
    let run = try await loop.submit {
        PacedRun(loop: loop, target: target, rate: rate, start: start, measureFrom: measureFrom, end: end, body: body)
    }.get()
    var channels: [any Channel] = []
    for _ in 0..<connections {
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(PacedConnection(run: run))
                }
            }
            .connect(host: target.host, port: target.port).get()
        channels.append(channel)
    }
    guard nowNanos() < start else { throw LoadError("opening \(connections) connections took over 0.5 s") }
    loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(measureFrom))) { cpuAt() }
    try await loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(start))) { run.tick() }.futureResult.get()
    try await run.finished.futureResult.get()
    for channel in channels { try? await channel.close() }
    return try await loop.submit { (run.records, measureFrom, run.maxWaiting) }.get()
}
