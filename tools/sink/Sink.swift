// hooklog-sink: a webhook receiver for replay tests and benchmarks. It counts what arrives, verifies
// signatures with its own code (swift-crypto directly, not hooklog's signing module), and can fail on
// purpose: 503s or 429s for the first N requests or at random, slow answers, answers whose body trickles
// (--trickle-ms), connections dropped without an answer.
//
//   swift run hooklog-sink --port 9000 --verify orderspace --secret KEY --fail-first 3 --retry-after 1
//   curl -s 127.0.0.1:9000/stats
import ArgumentParser
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

@main
struct Sink: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hooklog-sink",
        abstract: "Receive webhooks: count them, verify signatures, fail on purpose. GET /stats for the counts.")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port (0 picks one; the URL is printed).") var port = 9000
    @Option(help: "none, orderspace, standard-webhooks, hmac-sha256.") var verify = "none"
    @Option(help: "The secret signatures are checked with.") var secret = ""
    @Option(help: "The header hmac-sha256 signatures are in.") var signHeader = "X-Hooklog-Signature"
    @Option(help: "Answer the first N requests with --fail-status.") var failFirst = 0
    @Option(help: "Answer this fraction of requests (0-1) with --fail-status, at random.") var failRate = 0.0
    @Option(help: "The status of failures on purpose (503, 429, 400…).") var failStatus = 503
    @Option(help: "Send Retry-After: N with failures.") var retryAfter: Int?
    @Option(help: "Wait this many milliseconds before answering.") var delayMs = 0
    @Option(help: "Drop the connection without an answer for this fraction of requests (0-1), at random.")
    var resetRate = 0.0
    @Option(help: "Append each accepted body as one line to FILE.") var record: String?
    @Option(
        help:
            "Answer with a 100-byte body sent one byte every this many milliseconds (a receiver that trickles its answer)."
    )
    var trickleMs = 0

    struct Counts: Sendable {
        var requests = 0, accepted = 0, failedOnPurpose = 0, resets = 0, badSignature = 0, events = 0, bytes = 0
        var json: String {
            "{\"requests\":\(requests),\"accepted\":\(accepted),\"failed_on_purpose\":\(failedOnPurpose),\"resets\":\(resets),\"bad_signature\":\(badSignature),\"events\":\(events),\"bytes\":\(bytes)}"
        }
    }

    /// The request context, with the connection (to drop it on purpose).
    struct SinkContext: RequestContext {
        var coreContext: CoreRequestContextStorage
        let channel: any Channel

        init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            channel = source.channel
        }
    }

    struct DroppedOnPurpose: Error {}

    func run() async throws {
        let counts = Mutex(Counts())
        let recordHandle = try record.map { path -> FileHandle in
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }
        let recordLock = Mutex(())
        let settings = (
            verify: verify, secret: secret, signHeader: signHeader, failFirst: failFirst, failRate: failRate,
            failStatus: failStatus, retryAfter: retryAfter, delayMs: delayMs, resetRate: resetRate,
            trickleMs: trickleMs
        )
        let router = Router(context: SinkContext.self)
        router.get("/stats") { _, _ in counts.withLock { $0.json } }
        router.post("/**") { request, context -> Response in
            let body = Array(try await request.body.collect(upTo: 64 << 20).readableBytesView)
            let n = counts.withLock { c -> Int in
                c.requests += 1
                return c.requests
            }
            if settings.delayMs > 0 { try await Task.sleep(for: .milliseconds(settings.delayMs)) }
            if settings.resetRate > 0 && Double.random(in: 0..<1) < settings.resetRate {
                counts.withLock { $0.resets += 1 }
                try? await context.channel.close()
                throw DroppedOnPurpose()
            }
            if n <= settings.failFirst || (settings.failRate > 0 && Double.random(in: 0..<1) < settings.failRate) {
                counts.withLock { $0.failedOnPurpose += 1 }
                var headers = HTTPFields()
                if let r = settings.retryAfter { headers[.retryAfter] = String(r) }
                return Response(status: .init(code: settings.failStatus), headers: headers)
            }
            guard Self.verified(request.headers, body, settings.verify, settings.secret, settings.signHeader) else {
                counts.withLock { $0.badSignature += 1 }
                return Response(status: .unauthorized)
            }
            let events = Self.countEvents(body)
            counts.withLock {
                $0.accepted += 1
                $0.events += events
                $0.bytes += body.count
            }
            if let recordHandle {
                recordLock.withLock { _ in recordHandle.write(Data(body + [0x0A])) }
            }
            if settings.trickleMs > 0 {
                // The head at once, then the body a byte at a time: a client must time out on the body too.
                let pause = Duration.milliseconds(settings.trickleMs)
                return Response(
                    status: .ok, headers: [.contentLength: "100"],
                    body: ResponseBody { writer in
                        for _ in 0..<100 {
                            try await writer.write(ByteBuffer(string: " "))
                            try await Task.sleep(for: pause)
                        }
                        try await writer.finish(nil)
                    })
            }
            return Response(status: .ok)
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "hooklog-sink"),
            onServerRunning: { channel in
                FileHandle.standardOutput.write(
                    Data("hooklog-sink: listening on http://\(host):\(channel.localAddress?.port ?? 0)\n".utf8))
            })
        try await app.runService()
        FileHandle.standardError.write(Data("hooklog-sink: \(counts.withLock { $0.json })\n".utf8))
    }

    /// Events in a body: the elements of a top-level JSON list (commas at depth 1 outside strings), or 1.
    /// A byte scan, not a parse: the sink must cost far less than what it measures.
    static func countEvents(_ body: [UInt8]) -> Int {
        guard let first = body.firstIndex(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }),
            body[first] == UInt8(ascii: "[")
        else { return 1 }
        var depth = 0, commas = 0, inString = false, escaped = false, empty = true
        for b in body[first...] {
            if inString {
                if escaped {
                    escaped = false
                } else if b == 0x5C {
                    escaped = true
                } else if b == 0x22 {
                    inString = false
                }
                continue
            }
            switch b {
            case 0x22:
                inString = true
                empty = false
            case 0x5B, 0x7B:
                if depth >= 1 { empty = false }
                depth += 1
            case 0x5D, 0x7D: depth -= 1
            case 0x2C where depth == 1: commas += 1
            case 0x20, 0x0A, 0x0D, 0x09: break
            default: if depth >= 1 { empty = false }
            }
        }
        return empty ? 0 : commas + 1
    }

    /// Checks a request's signature, written independently of hooklog's own signing code.
    static func verified(
        _ headers: HTTPFields, _ body: [UInt8], _ scheme: String, _ secret: String, _ signHeader: String
    ) -> Bool {
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }
        func mac(_ key: [UInt8], _ message: [UInt8]) -> Data {
            Data(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
        }
        switch scheme {
        case "none":
            return true
        case "orderspace":
            return header("X-Orderspace-Signature") == mac(Array(secret.utf8), body).base64EncodedString()
        case "hmac-sha256":
            let hex = mac(Array(secret.utf8), body).map { String(format: "%02x", $0) }.joined()
            return header(signHeader) == "sha256=" + hex
        case "standard-webhooks":
            guard let id = header("webhook-id"), let ts = header("webhook-timestamp"),
                let sigs = header("webhook-signature"),
                let t = Int(ts), case let now = Int(Date().timeIntervalSince1970), (now - 300)...(now + 300) ~= t
            else { return false }
            let keyText = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
            guard let key = Data(base64Encoded: keyText) else { return false }
            let expected = "v1," + mac(Array(key), Array("\(id).\(ts).".utf8) + body).base64EncodedString()
            return sigs.split(separator: " ").contains { $0 == expected }
        default:
            return false
        }
    }
}
