import AsyncHTTPClient
import Foundation
import HooklogStore
import Testing

/// A sender that behaves like Orderspace and O2VEND: every request is retried until it gets a 200.
final class RetryingSender: @unchecked Sendable {
    struct Delivery: Sendable {
        var route: String  // "o2vend" or "orderspace"
        var body: [UInt8]
        /// O2VEND event IDs, or Orderspace event markers, the body carries.
        var keys: [String]
    }

    private let lock = NSLock()
    private var pending: [[Delivery]]
    private var acked: [Delivery] = []
    private var counter = 0

    init(workers: Int) { pending = Array(repeating: [], count: workers) }

    /// The next delivery of `worker`: a retry of an unacknowledged one first, else a new one (or nil
    /// with `retriesOnly`).
    func next(_ worker: Int, retriesOnly: Bool = false) -> Delivery? {
        lock.lock()
        defer { lock.unlock() }
        if let retry = pending[worker].first { return retry }
        if retriesOnly { return nil }
        counter += 1
        let n = counter
        let delivery: Delivery
        if n % 4 == 0 {
            // An ID-less Orderspace batch of 5: dedupe rests on the body digest.
            let keys = (0..<5).map { "os-\(n)-\($0)" }
            let events = keys.map {
                "{\"event\":\"order.updated\",\"data\":{\"order\":{\"id\":\"or_\(n % 97)\",\"marker\":\"\($0)\"}}}"
            }
            delivery = Delivery(route: "orderspace", body: Array("[\(events.joined(separator: ","))]".utf8), keys: keys)
        } else {
            let id = "o2-\(n)"
            let body =
                "{\"Id\":\"\(id)\",\"Event\":\"Order.Create\",\"Attempt\":1,\"Data\":{\"Id\":\(n % 113),\"CustomerId\":7}}"
            delivery = Delivery(route: "o2vend", body: Array(body.utf8), keys: [id])
        }
        pending[worker].append(delivery)
        return delivery
    }

    func acknowledged(_ worker: Int) {
        lock.lock()
        defer { lock.unlock() }
        acked.append(pending[worker].removeFirst())
    }

    var ackedDeliveries: [Delivery] {
        lock.lock()
        defer { lock.unlock() }
        return acked
    }

    var unacknowledged: Int {
        lock.lock()
        defer { lock.unlock() }
        return pending.reduce(0) { $0 + $1.count }
    }
}

@Suite(.serialized) struct CrashLoopTests {
    /// Rounds of load, each ended by `kill -9`; `HOOKLOG_CRASH_ROUNDS` sets how many (tools/crash-loop
    /// runs 20 or more; CI runs 3).
    static let rounds = ProcessInfo.processInfo.environment["HOOKLOG_CRASH_ROUNDS"].flatMap(Int.init) ?? 3

    @Test("kill -9 under load, again and again: every acknowledged event is stored exactly once and check is clean")
    func crashLoop() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let workers = 6
        let sender = RetryingSender(workers: workers)
        var token: String?
        var killedMidLoad = 0
        for round in 0...Self.rounds {
            let serve = try await ServeProcess(data: dir)
            if token == nil { token = serve.url("o2vend").map { String($0.split(separator: "/").last!) } }
            let base = serve.base
            let accountToken = token!
            let last = round == Self.rounds
            let client = HTTPClient(
                eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                configuration: .init(timeout: .init(connect: .milliseconds(500))))
            let stop = Locked(false)
            let ackedBefore = sender.ackedDeliveries.count
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        var sent = 0
                        while !stop.withLock({ $0 }) {
                            // The last round sends a few new deliveries, then drains every retry and stops.
                            guard let d = sender.next(worker, retriesOnly: last && sent >= 20) else { return }
                            guard
                                let (status, _) = try? await post(
                                    client, "\(base)/v1/\(d.route)/\(accountToken)", d.body)
                            else {
                                if last { continue }
                                return
                            }
                            #expect(status == 200 || status == 503, "status \(status)")
                            if status == 200 { sender.acknowledged(worker) }
                            sent += 1
                        }
                    }
                }
                if !last {
                    group.addTask {
                        try? await Task.sleep(for: .milliseconds(Int.random(in: 150...600)))
                        kill(serve.process.processIdentifier, SIGKILL)
                        stop.withLock { $0 = true }

                    }
                }
                await group.waitForAll()
            }
            try? await client.shutdown()
            if last {
                #expect(await serve.terminate() == 0)
            } else {
                await Task.detached { serve.process.waitUntilExit() }.value
                if sender.ackedDeliveries.count > ackedBefore { killedMidLoad += 1 }
            }
        }
        #expect(killedMidLoad >= Self.rounds / 2, "the kills landed under load")
        #expect(sender.unacknowledged == 0)

        let stored = try ArchiveReader(directory: dir).snapshot().events()
        var seen: [String: Int] = [:]
        for e in stored {
            if let id = e.id {
                seen[id, default: 0] += 1
            } else if let range = String(decoding: e.payload, as: UTF8.self).range(of: "\"marker\":\"") {
                let rest = String(decoding: e.payload, as: UTF8.self)[range.upperBound...]
                seen[String(rest.prefix { $0 != "\"" }), default: 0] += 1
            }
        }
        let keys = sender.ackedDeliveries.flatMap(\.keys)
        #expect(keys.count > 100)
        #expect(seen.count == keys.count, "nothing stored that was never sent")
        for key in keys { #expect(seen[key] == 1, "\(key) stored \(seen[key] ?? 0) times") }
        let check = try CLI.run(["check", "--data", dir])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        print("crash loop: \(Self.rounds) kill -9 rounds, \(keys.count) events acknowledged and verified exactly once")
    }
}
