import Crypto
import Foundation
import HTTPTypes
import HooklogStore
import Hummingbird
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// A webhook consumer for replay tests: a real HTTP server on a free port that records what it accepts
/// and answers as `script` says (status and headers by request number and body).
final class Receiver: Sendable {
    struct Received: Sendable {
        var n: Int
        var status: Int
        var headers: [String: String]
        /// Every header field as it came, repeated names included.
        var fields: [(name: String, value: String)]
        var body: [UInt8]
        /// The request target: path and query.
        var target: String
    }

    typealias Script = @Sendable (_ n: Int, _ body: [UInt8]) -> (status: Int, headers: [String: String])

    final class Log: Sendable {
        let entries = Mutex<[Received]>([])
        let counter = Mutex(0)
    }

    private let log = Log()
    private let task: Task<Void, any Error>
    let port: Int

    init(delay: Duration = .zero, script: @escaping Script = { _, _ in (200, [:]) }) async throws {
        let log = self.log
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = Array(try await request.body.collect(upTo: 16 << 20).readableBytesView)
            var headers: [String: String] = [:]
            for f in request.headers { headers[f.name.canonicalName] = f.value }
            let received = request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
            let n = log.counter.withLock { c -> Int in
                c += 1
                return c
            }
            let answer = script(n, body)
            let target = request.uri.description
            log.entries.withLock {
                $0.append(
                    Received(
                        n: n, status: answer.status, headers: headers, fields: received, body: body, target: target))
            }
            if delay > .zero { try await Task.sleep(for: delay) }
            var fields = HTTPFields()
            for (k, v) in answer.headers { fields[HTTPField.Name(k)!] = v }
            return Response(status: .init(code: answer.status), headers: fields)
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        task = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    /// Every request, in arrival order.
    var requests: [Received] { log.entries.withLock { $0 }.sorted { $0.n < $1.n } }

    /// Accepted (2xx) requests only.
    var accepted: [Received] { requests.filter { (200..<300).contains($0.status) } }

    func stop() { task.cancel() }
}

extension CLI {
    /// Runs the binary without blocking a Swift concurrency thread (the test's server needs them).
    static func runAsync(_ arguments: [String], environment: [String: String] = [:]) async throws -> Output {
        try await Task.detached { try CLI.run(arguments, environment: environment) }.value
    }

    /// Runs the binary, killing it if it has not ended within `limit` (a hang fails the test, with
    /// status 9, rather than holding the suite). Through `timeout(1)`, whose exit is the binary's.
    static func runAsync(
        _ arguments: [String], environment: [String: String] = [:], killAfter limit: Int
    ) async throws -> Output {
        try await Task.detached {
            try CLI.run(
                executable: "/usr/bin/timeout", ["-s", "KILL", String(limit), CLI.binary] + arguments,
                environment: environment)
        }.value
    }
}

/// A receiver on 127.0.0.1 that answers each connection's first request with a 200 head announcing a
/// 100-byte body, then sends that body one byte a second.
final class TricklingReceiver: Sendable {
    let channel: any Channel
    /// Connections answered.
    let answered = Counter()

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }
    var url: String { "http://127.0.0.1:\(channel.localAddress?.port ?? 0)/hook" }

    /// Runs `body` with a receiver that is stopped however `body` ends.
    static func with<T>(_ body: (TricklingReceiver) async throws -> T) async throws -> T {
        let receiver = try await TricklingReceiver()
        do {
            let result = try await body(receiver)
            try? await receiver.channel.close()
            return result
        } catch {
            try? await receiver.channel.close()
            throw error
        }
    }

    private init() async throws {
        let answered = self.answered
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Trickle(answered: answered))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// `@unchecked Sendable`: used on its channel's event loop only.
    private final class Trickle: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answered: Counter
        var started = false
        var left = 100

        init(answered: Counter) { self.answered = answered }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !started else { return }
            started = true
            answered.value.add(1, ordering: .relaxed)
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: head)), promise: nil)
            drip(context)
        }

        func drip(_ context: ChannelHandlerContext) {
            guard left > 0, context.channel.isActive else { return }
            left -= 1
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: " ")), promise: nil)
            context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { self.drip(context) }
        }
    }
}

/// An archive of `orders` orders with `steps` events each, interleaved (order 0 step 0, order 1 step 0, …),
/// with O2VEND-style IDs on every third order and none on the rest.
func makeInterleavedArchive(_ dir: String, orders: Int, steps: Int) async throws -> [NewEvent] {
    let store = try ArchiveStore.open(directory: dir)
    var events: [NewEvent] = []
    for step in 0..<steps {
        for order in 0..<orders {
            let payload =
                "{\"event\":\"order.step\",\"data\":{\"order\":{\"id\":\"or_\(order)\",\"step\":\(step),\"note\":\"caf\u{e9} \\\"x\\\"\"}}}"
            events.append(
                NewEvent(
                    account: "shop", source: "orderspace", type: "order.step", entity: "or_\(order)",
                    refs: ["cu_\(order % 3)"],
                    id: order % 3 == 0 ? "ev_\(order)_\(step)" : nil, payload: Array(payload.utf8)))
        }
    }
    for chunk in stride(from: 0, to: events.count, by: 50) {
        _ = try await store.append(Array(events[chunk..<min(chunk + 50, events.count)]))
    }
    store.close()
    return events
}

/// `(order, step)` of an event payload this file's archives hold.
func orderStep(_ payload: [UInt8]) -> (String, Int) {
    let object = try! JSONSerialization.jsonObject(with: Data(payload)) as! [String: Any]
    let order = (object["data"] as! [String: Any])["order"] as! [String: Any]
    return (order["id"] as! String, order["step"] as! Int)
}

/// The elements of a JSON array body, as their exact bytes (top-level commas split them; the test
/// payloads hold no commas at depth 1 inside strings).
func arrayElements(_ body: [UInt8]) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var depth = 0, inString = false, escaped = false, start = 1
    for (i, b) in body.enumerated() {
        if inString {
            if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
            continue
        }
        switch b {
        case 0x22: inString = true
        case 0x5B, 0x7B: depth += 1
        case 0x5D, 0x7D:
            depth -= 1
            if depth == 0 { out.append(Array(body[start..<i])) }
        case 0x2C where depth == 1:
            out.append(Array(body[start..<i]))
            start = i + 1
        default: break
        }
    }
    return out
}

@Suite(.serialized) struct ReplayCLITests {
    /// `replay`'s two HTTP clients: the built-in one for `http://`, AsyncHTTPClient for `https://` (and
    /// for `http://` with `HOOKLOG_REPLAY_HTTP_CLIENT=async-http-client`).
    static let clients: [[String: String]] = [[:], ["HOOKLOG_REPLAY_HTTP_CLIENT": "async-http-client"]]

    @Test(
        "o2vend shape: each event once, bytes unchanged, in seq order per entity, Standard Webhooks signatures verify",
        arguments: clients)
    func orderedAndSigned(client: [String: String]) async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let events = try await makeInterleavedArchive(dir, orders: 12, steps: 6)
        let receiver = try await Receiver(delay: .milliseconds(2))
        defer { receiver.stop() }
        let secret = "whsec_" + Data("replay-test-secret-0123456789abcd".utf8).base64EncodedString()
        let out = try await CLI.runAsync(
            [
                "replay", "--data", dir, "--to", receiver.url + "?tenant=acme#ignored", "--shape", "o2vend",
                "--concurrency", "4",
                "--sign", "standard-webhooks",
                "--secret", secret, "--header", "X-Tenant: acme",
            ], environment: client)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("delivered 72 of 72 events in 72 requests"))
        let got = receiver.accepted
        #expect(got.count == events.count)
        #expect(Set(got.map(\.body)) == Set(events.map { Array($0.payload) }))
        var lastStep: [String: Int] = [:]
        for r in got {
            let (order, step) = orderStep(r.body)
            #expect(step == (lastStep[order] ?? -1) + 1, "\(order) step \(step) after \(lastStep[order] ?? -1)")
            lastStep[order] = step
            #expect(r.headers["x-tenant"] == "acme")
            #expect(r.target == "/hook?tenant=acme")
            // Verified here with swift-crypto directly, independently of hooklog's signing code.
            let id = r.headers["webhook-id"]!, ts = r.headers["webhook-timestamp"]!
            let key = SymmetricKey(data: Data(base64Encoded: String(secret.dropFirst(6)))!)
            let mac = HMAC<SHA256>.authenticationCode(for: Array("\(id).\(ts).".utf8) + r.body, using: key)
            #expect(r.headers["webhook-signature"] == "v1," + Data(mac).base64EncodedString())
            let number = Int(order.dropFirst(3))!
            if number % 3 == 0 { #expect(id == "ev_\(number)_\(step)") } else { #expect(id.hasPrefix("hl_")) }
        }
        // Stable IDs: the same event gets the same webhook-id on another run.
        let ids = Set(got.map { $0.headers["webhook-id"]! })
        #expect(ids.count == events.count)
    }

    @Test(
        "orderspace shape: batches of original bytes, signed as Orderspace signs; exactly once through 503s and 429s",
        arguments: clients)
    func batchesThroughFailures(client: [String: String]) async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let events = try await makeInterleavedArchive(dir, orders: 10, steps: 10)
        // Every third request fails: 503 (Retry-After: 0) or 429; request 2 asks for a 1 s pause.
        let receiver = try await Receiver { n, _ in
            if n == 2 { return (429, ["Retry-After": "1"]) }
            if n % 3 == 0 { return (n % 2 == 0 ? 503 : 429, ["Retry-After": "0"]) }
            return (200, [:])
        }
        defer { receiver.stop() }
        let started = Date()
        let out = try await CLI.runAsync(
            [
                "replay", "--data", dir, "--to", receiver.url, "--batch", "7", "--concurrency", "3", "--sign",
                "orderspace", "--secret", "k3y",
            ], environment: client)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(Date().timeIntervalSince(started) >= 1.0, "Retry-After: 1 was honoured")
        var delivered: [[UInt8]] = []
        var lastStep: [String: Int] = [:]
        for r in receiver.accepted {
            let mac = HMAC<SHA256>.authenticationCode(for: r.body, using: SymmetricKey(data: Array("k3y".utf8)))
            #expect(r.headers["x-orderspace-signature"] == Data(mac).base64EncodedString())
            let elements = arrayElements(r.body)
            #expect((1...7).contains(elements.count))
            for e in elements {
                let (order, step) = orderStep(e)
                #expect(step == (lastStep[order] ?? -1) + 1)
                lastStep[order] = step
            }
            delivered += elements
        }
        #expect(delivered.count == events.count, "each event exactly once")
        #expect(Set(delivered) == Set(events.map { Array($0.payload) }))
        #expect(receiver.requests.count > receiver.accepted.count)
    }

    @Test(
        "an event ID with a line break (from a sender's JSON escapes) cannot inject headers: a generated webhook-id",
        arguments: clients)
    func eventIDsCannotInjectHeaders(client: [String: String]) async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ArchiveStore.open(directory: dir)
        _ = try await store.append([
            NewEvent(
                account: "a", source: "o2vend", type: "t", entity: "e1", refs: [], id: "x\r\nX-Injected: 1",
                payload: Array("{\"n\":1}".utf8)),
            NewEvent(
                account: "a", source: "o2vend", type: "t", entity: "e2", refs: [], id: "plain",
                payload: Array("{\"n\":2}".utf8)),
        ])
        store.close()
        let receiver = try await Receiver()
        defer { receiver.stop() }
        let secret = "whsec_" + Data("replay-test-secret-0123456789abcd".utf8).base64EncodedString()
        let out = try await CLI.runAsync(
            [
                "replay", "--data", dir, "--to", receiver.url, "--shape", "o2vend", "--sign", "standard-webhooks",
                "--secret", secret,
            ],
            environment: client)
        #expect(out.status == 0, "\(out.stdout) \(out.stderr)")
        let got = receiver.requests
        #expect(got.count == 2 && got.allSatisfy { $0.status == 200 && $0.headers["x-injected"] == nil })
        #expect(Set(got.compactMap { $0.headers["webhook-id"] }).contains("plain"))
        #expect(got.compactMap { $0.headers["webhook-id"] }.filter { $0.hasPrefix("hl_") }.count == 1)
    }

    @Test(
        "a receiver slower than --timeout: each try times out, the events are given up after --max-attempts",
        arguments: clients)
    func slowReceiverTimesOut(client: [String: String]) async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeInterleavedArchive(dir, orders: 2, steps: 1)
        let receiver = try await Receiver(delay: .seconds(10))
        defer { receiver.stop() }
        let dead = dir + ".dead.ndjson"
        defer { try? FileManager.default.removeItem(atPath: dead) }
        let started = Date()
        let out = try await CLI.runAsync(
            [
                "replay", "--data", dir, "--to", receiver.url, "--shape", "o2vend", "--concurrency", "2", "--timeout",
                "1s",
                "--max-attempts", "2", "--dead-letter", dead,
            ], environment: client)
        #expect(out.status == 1, "\(out.stdout) \(out.stderr)")
        // Two events, two tries each. (A try can time out before it reaches the receiver: through
        // AsyncHTTPClient, a retry may wait for a pool connection until its deadline passes.)
        #expect(out.stdout.contains("delivered 0 of 2 events in 2 requests (2 retries)"), "\(out.stdout)")
        #expect((2...4).contains(receiver.requests.count))
        #expect(Date().timeIntervalSince(started) < 9, "the tries were cut at 1 s, not left to the 10 s answers")
        let lines = (try String(contentsOfFile: dead, encoding: .utf8)).split(separator: "\n")
        #expect(lines.count == 2)
    }

    @Test("a 400 is not retried: its events go to the dead-letter file, the run goes on, --from-file sends them again")
    func deadLetterRoundTrip() async throws {
        let dir = tempPath()
        let dead = tempPath() + ".ndjson"
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: dead)
        }
        let events = try await makeInterleavedArchive(dir, orders: 4, steps: 5)
        // The consumer refuses order 2's events outright.
        let picky = try await Receiver { _, body in orderStep(body).0 == "or_2" ? (400, [:]) : (200, [:]) }
        let out = try await CLI.runAsync([
            "replay", "--data", dir, "--to", picky.url, "--shape", "o2vend", "--dead-letter", dead, "--max-attempts",
            "3",
        ])
        picky.stop()
        #expect(out.status == 1)
        #expect(out.stderr.contains("5 events were not delivered"), "\(out.stderr)")
        #expect(picky.accepted.count == 15)
        #expect(picky.requests.count == 20, "no retries of a 400")
        let lines = String(decoding: FileManager.default.contents(atPath: dead)!, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 5)
        let query = try CLI.run(["query", "--data", dir, "--entity", "or_2"])
        #expect(query.stdout.split(separator: "\n") == lines, "dead letters are the query's NDJSON lines")

        let fine = try await Receiver()
        defer { fine.stop() }
        let again = try await CLI.runAsync([
            "replay", "--data", dir, "--to", fine.url, "--shape", "o2vend", "--from-file", dead,
        ])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(fine.accepted.map(\.body) == events.filter { $0.entity == "or_2" }.map { Array($0.payload) })
    }

    @Test("a run killed with -9 continues from its checkpoint, re-sending at most what was in flight")
    func resumeAfterKill() async throws {
        let dir = tempPath()
        let checkpoint = tempPath() + ".ckpt"
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: checkpoint)
        }
        let events = try await makeInterleavedArchive(dir, orders: 20, steps: 10)
        let receiver = try await Receiver(delay: .milliseconds(10))
        defer { receiver.stop() }
        let arguments = [
            "replay", "--data", dir, "--to", receiver.url, "--shape", "o2vend", "--concurrency", "4", "--checkpoint",
            checkpoint,
        ]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        while receiver.accepted.count < 60 { try await Task.sleep(for: .milliseconds(5)) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let beforeKill = receiver.accepted.count
        #expect(beforeKill < events.count)

        let second = try await CLI.runAsync(arguments)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("already sent by an earlier run"), "\(second.stdout)")
        let bodies = receiver.accepted.map(\.body)
        #expect(Set(bodies) == Set(events.map { Array($0.payload) }), "everything delivered")
        let resent = bodies.count - events.count
        #expect(resent <= 4, "at most the 4 requests in flight were sent twice (\(resent))")
        // Order per entity holds across the two runs (a re-sent event repeats, never goes backwards).
        var lastStep: [String: Int] = [:]
        for body in bodies {
            let (order, step) = orderStep(body)
            #expect(step >= (lastStep[order] ?? -1), "\(order): \(step) after \(lastStep[order] ?? -1)")
            lastStep[order] = max(step, lastStep[order] ?? -1)
        }
        let third = try await CLI.runAsync(arguments)
        #expect(third.stdout.contains("nothing to do"))
    }

    @Test("--dry-run prints the plan and sends nothing; bad flags are usage errors")
    func dryRunAndUsage() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeInterleavedArchive(dir, orders: 5, steps: 4)
        let receiver = try await Receiver()
        defer { receiver.stop() }
        let plan = try await CLI.runAsync([
            "replay", "--data", dir, "--to", receiver.url, "--batch", "3", "--concurrency", "1", "--rate", "2/s",
            "--dry-run",
            "--sign", "hmac-sha256", "--secret", "s",
        ])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("events:      20"))
        #expect(plan.stdout.contains("requests:    7 "))
        #expect(plan.stdout.contains("entities:    5"))
        #expect(plan.stdout.contains("about 4 s at 2.0 requests/s"))
        #expect(receiver.requests.isEmpty)
        for bad in [["--batch", "51"], ["--rate", "fast"], ["--sign", "orderspace"], ["--to", "ftp://x"]] {
            var args = ["replay", "--data", dir, "--to", receiver.url] + bad
            if bad[0] == "--to" { args = ["replay", "--data", dir] + bad }
            let out = try await CLI.runAsync(args)
            #expect(out.status == 2, "\(bad): \(out.stderr)")
            #expect(out.stderr.split(separator: "\n").count == 1)
        }
        // hmac-sha256 with its header.
        let run = try await CLI.runAsync([
            "replay", "--data", dir, "--to", receiver.url, "--shape", "envelope", "--sign", "hmac-sha256", "--secret",
            "s",
            "--sign-header", "X-Sig",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        for r in receiver.accepted {
            let mac = HMAC<SHA256>.authenticationCode(for: r.body, using: SymmetricKey(data: Array("s".utf8)))
            #expect(r.headers["x-sig"] == "sha256=" + Data(mac).map { String(format: "%02x", $0) }.joined())
            let object = try JSONSerialization.jsonObject(with: Data(r.body)) as! [String: Any]
            #expect(object["seq"] is Int && object["payload"] is [String: Any])
        }
        #expect(receiver.accepted.count == 20)
    }

    @Test(
        "a relative --since with --checkpoint: the same command run again resumes the same replay, not another",
        arguments: [false, true])
    func relativeSinceResumes(interrupted: Bool) async throws {
        let dir = tempPath()
        let checkpoint = tempPath() + ".ckpt"
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: checkpoint)
        }
        let events = try await makeInterleavedArchive(dir, orders: 10, steps: 6)
        // To be interrupted, the first run is held up after 8 requests (503, Retry-After: 30) until killed.
        final class Mood: Sendable { let holding = Atomic<Bool>(true) }
        let mood = Mood()
        let receiver = try await Receiver { n, _ in
            interrupted && n > 8 && mood.holding.load(ordering: .relaxed) ? (503, ["Retry-After": "30"]) : (200, [:])
        }
        defer { receiver.stop() }
        let arguments = [
            "replay", "--data", dir, "--to", receiver.url, "--shape", "o2vend", "--concurrency", "2", "--since", "30d",
            "--until", "0s",
            "--checkpoint", checkpoint,
        ]
        if interrupted {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            while receiver.accepted.count < 8 { try await Task.sleep(for: .milliseconds(5)) }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            mood.holding.store(false, ordering: .relaxed)
            // Sent after the first run resolved --until 0s: outside the window it kept.
            let store = try ArchiveStore.open(directory: dir)
            _ = try await store.append([
                NewEvent(
                    account: "shop", source: "orderspace", type: "late", entity: "late", refs: [], id: nil,
                    payload: Array("{}".utf8))
            ])
            store.close()
        } else {
            let first = try await CLI.runAsync(arguments)
            #expect(first.status == 0, "\(first.stderr)")
        }
        try await Task.sleep(for: .milliseconds(20))  // --since 30d and --until 0s now resolve to other times
        let again = try await CLI.runAsync(arguments)
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        if interrupted {
            #expect(again.stdout.contains("already sent by an earlier run"), "\(again.stdout)")
            #expect(
                Set(receiver.accepted.map(\.body)) == Set(events.map { Array($0.payload) }),
                "the first run's window, the late event not in it")
        } else {
            #expect(again.stdout.contains("nothing to do"), "\(again.stdout)")
            #expect(receiver.accepted.count == events.count)
        }
        let mode = try FileManager.default.attributesOfItem(atPath: checkpoint)[.posixPermissions] as! Int
        #expect(mode & 0o777 == 0o600, "\(String(mode, radix: 8))")
    }

    @Test(
        "events given up on are not settled: the same command sends them again, and exits 0 only once they are delivered",
        arguments: [true, false])
    func failedEventsAreSentAgain(withDeadLetter: Bool) async throws {
        let dir = tempPath()
        let checkpoint = tempPath() + ".ckpt"
        let dead = tempPath() + ".ndjson"
        defer {
            for path in [dir, checkpoint, dead] { try? FileManager.default.removeItem(atPath: path) }
        }
        let events = try await makeInterleavedArchive(dir, orders: 5, steps: 4)
        // First or_1 is refused outright (400) and or_3 is down (503 every try); then all is well.
        final class Mood: Sendable { let picky = Atomic<Bool>(true) }
        let mood = Mood()
        let receiver = try await Receiver { _, body in
            guard mood.picky.load(ordering: .relaxed) else { return (200, [:]) }
            switch orderStep(body).0 {
            case "or_1": return (400, [:])
            case "or_3": return (503, ["Retry-After": "0"])
            default: return (200, [:])
            }
        }
        defer { receiver.stop() }
        let arguments =
            [
                "replay", "--data", dir, "--to", receiver.url, "--shape", "o2vend", "--concurrency", "3",
                "--max-attempts", "2", "--checkpoint", checkpoint,
            ]
            + (withDeadLetter ? ["--dead-letter", dead] : [])
        let first = try await CLI.runAsync(arguments)
        #expect(first.status == 1)
        #expect(first.stderr.contains("8 events were not delivered"), "\(first.stderr)")
        #expect(receiver.accepted.count == 12)
        for path in withDeadLetter ? [checkpoint, dead] : [checkpoint] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! Int
            #expect(mode & 0o777 == 0o600, "\(path): \(String(mode, radix: 8))")
        }
        #expect(!FileManager.default.fileExists(atPath: checkpoint + ".tmp"))

        // Still refused: still not delivered, still not done.
        let second = try await CLI.runAsync(arguments)
        #expect(second.status == 1, "\(second.stdout)")
        #expect(second.stdout.contains("delivered 0 of 8 events"), "\(second.stdout)")
        #expect(second.stdout.contains("12 already sent by an earlier run"), "\(second.stdout)")

        mood.picky.store(false, ordering: .relaxed)
        let before = receiver.accepted.count
        let third = try await CLI.runAsync(arguments)
        #expect(third.status == 0, "\(third.stdout) \(third.stderr)")
        #expect(third.stdout.contains("delivered 8 of 8 events"), "\(third.stdout)")
        let resent = receiver.accepted.dropFirst(before).map(\.body)
        #expect(Set(resent) == Set(events.filter { ["or_1", "or_3"].contains($0.entity) }.map { Array($0.payload) }))
        #expect(resent.count == 8, "only the events given up on, once each")
        var lastStep: [String: Int] = [:]
        for body in resent {
            let (order, step) = orderStep(body)
            #expect(step > (lastStep[order] ?? -1), "in order per entity")
            lastStep[order] = step
        }
        let fourth = try await CLI.runAsync(arguments)
        #expect(fourth.status == 0 && fourth.stdout.contains("nothing to do"), "\(fourth.stdout)")
    }

    @Test(
        "a receiver that sends its head and then trickles its body: each try times out at --timeout, then the events are given up",
        .timeLimit(.minutes(1)), arguments: clients)
    func tricklingBodyTimesOut(client: [String: String]) async throws {
        let dir = tempPath()
        let dead = tempPath() + ".ndjson"
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: dead)
        }
        _ = try await makeInterleavedArchive(dir, orders: 2, steps: 1)
        try await TricklingReceiver.with { receiver in
            let started = Date()
            let out = try await CLI.runAsync(
                [
                    "replay", "--data", dir, "--to", receiver.url, "--shape", "o2vend", "--concurrency", "2",
                    "--timeout", "1s",
                    "--max-attempts", "2", "--dead-letter", dead,
                ], environment: client, killAfter: 40)
            #expect(out.status == 1, "\(out.stdout) \(out.stderr)")
            #expect(out.stdout.contains("delivered 0 of 2 events in 2 requests (2 retries)"), "\(out.stdout)")
            #expect(out.stderr.contains("did not arrive within the timeout"), "\(out.stderr)")
            #expect(Date().timeIntervalSince(started) < 30, "each try cut at 1 s, not left to the 100 s body")
            #expect((2...4).contains(receiver.answered.value.load(ordering: .relaxed)))
            #expect((try String(contentsOfFile: dead, encoding: .utf8)).split(separator: "\n").count == 2)
        }
    }

    @Test(
        "--header replaces a default header of the same name (any case): one Content-Type, the given one",
        arguments: clients)
    func headerReplacesTheDefault(client: [String: String]) async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeInterleavedArchive(dir, orders: 2, steps: 1)
        let receiver = try await Receiver()
        defer { receiver.stop() }
        let out = try await CLI.runAsync(
            [
                "replay", "--data", dir, "--to", receiver.url, "--header",
                "content-type: application/cloudevents-batch+json", "--header", "X-A: 1",
            ],
            environment: client)
        #expect(out.status == 0, "\(out.stderr)")
        let got = try #require(receiver.accepted.first)
        #expect(
            got.fields.filter { $0.name == "content-type" }.map(\.value) == ["application/cloudevents-batch+json"],
            "\(got.fields)")
        #expect(got.headers["x-a"] == "1")
    }

    @Test("a whsec_ secret that is not base64, or a --header the signature writes, is a usage error; nothing is sent")
    func badSecretsAreUsageErrors() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeInterleavedArchive(dir, orders: 2, steps: 1)
        let receiver = try await Receiver()
        defer { receiver.stop() }
        for bad in [
            ["--sign", "standard-webhooks", "--secret", "whsec_this is not base64!"],
            ["--sign", "standard-webhooks", "--secret", "whsec_"],
            ["--sign", "orderspace", "--secret", "k", "--header", "X-Orderspace-Signature: forged"],
        ] {
            let out = try await CLI.runAsync(["replay", "--data", dir, "--to", receiver.url] + bad)
            #expect(out.status == 2, "\(bad): \(out.stderr)")
            #expect(out.stderr.split(separator: "\n").count == 1, "\(out.stderr)")
        }
        #expect(receiver.requests.isEmpty)
    }
}
