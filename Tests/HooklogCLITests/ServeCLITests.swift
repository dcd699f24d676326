import AsyncHTTPClient
import Foundation
import HooklogStore
import NIOCore
import Synchronization
import Testing

/// `hooklog serve` as a process, with what it printed.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let outPath = tempPath() + ".out"
    let errPath = tempPath() + ".err"
    private(set) var lines: [String] = []

    init(data: String, extra: [String] = []) async throws {
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["serve", "--data", data, "--port", "0"] + extra
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        for _ in 0..<400 {
            lines = stdout.split(separator: "\n").map(String.init)
            if lines.contains(where: { $0.hasPrefix("token: ") || $0.hasPrefix("hooklog: accounts:") }) { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw CancellationError()
    }

    var stdout: String { String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self) }
    var stderr: String { String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self) }

    /// `http://127.0.0.1:PORT`
    var base: String {
        let line = lines.first { $0.hasPrefix("hooklog: listening on ") }!
        return String(line.dropFirst("hooklog: listening on ".count).split(separator: " ")[0])
    }

    func url(_ label: String) -> String? {
        lines.first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label + ":") }
            .map { String($0.split(separator: " ").last!) }
    }

    var adminToken: String? { lines.first { $0.hasPrefix("token: ") }.map { String($0.dropFirst(7)) } }

    func terminate() async -> Int32 {
        process.terminate()
        return await Task.detached {
            self.process.waitUntilExit()
            return self.process.terminationStatus
        }.value
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
}

func post(
    _ client: HTTPClient, _ url: String, _ body: [UInt8], headers: [(String, String)] = []
) async throws -> (Int, String) {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    for (k, v) in headers { request.headers.add(name: k, value: v) }
    request.body = .bytes(ByteBuffer(bytes: body))
    let response = try await client.execute(request, timeout: .seconds(30))
    let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
    return (Int(response.status.code), text)
}

func get(_ client: HTTPClient, _ url: String, bearer: String? = nil) async throws -> (Int, String) {
    var request = HTTPClientRequest(url: url)
    if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
    let response = try await client.execute(request, timeout: .seconds(30))
    return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 16 << 20)))
}

/// A value shared by concurrent test tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

@Suite(.serialized) struct ServeCLITests {
    @Test("--segment-size seals segments at that size; every event stays readable")
    func smallSegments() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let serve = try await ServeProcess(data: dir, extra: ["--segment-size", "8k"])
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let orderspace = try #require(serve.url("orderspace"))
        var generator = SystemRandomNumberGenerator()
        var stored = 0
        for k in 0..<20 {
            // Random notes: LZ4 cannot shrink them, so 20 deliveries of 2 KB fill several 8 KB segments.
            let note = (0..<2000).map { _ in "0123456789abcdef".randomElement(using: &generator)! }
            let body =
                "[{\"event\":\"order.created\",\"data\":{\"order\":{\"id\":\"or_\(k)\",\"note\":\"\(String(note))\"}}}]"
            let (status, text) = try await post(client, orderspace, Array(body.utf8))
            #expect(status == 200, "\(text)")
            stored += 1
        }
        try await client.shutdown()
        #expect(await serve.terminate() == 0)
        let logs = try FileManager.default.contentsOfDirectory(atPath: dir + "/log").filter { $0.hasSuffix(".log") }
        #expect(logs.count >= 3, "\(logs)")
        #expect(try CLI.run(["query", "--data", dir]).stdout.split(separator: "\n").count == stored)
        #expect(try CLI.run(["check", "--data", dir]).status == 0)
    }

    @Test(
        "first start creates 'default', prints its URLs and the admin token; the URLs and tokens work; logs hold no secret"
    )
    func firstStart() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Trace level: not even the most verbose log may name a token or secret.
        let serve = try await ServeProcess(data: dir, extra: ["--log-level", "trace"])
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let orderspace = try #require(serve.url("orderspace"))
        let o2vend = try #require(serve.url("o2vend"))
        let admin = try #require(serve.adminToken)
        #expect(try CLI.run(["admin-token", "--data", dir]).stdout == "token: \(admin)\n")

        let (status, body) = try await post(client, orderspace, try fixture("orderspace/batch-mixed.json"))
        #expect(status == 200, "\(body)")
        #expect(body.contains("\"stored\":10"))
        #expect(try await post(client, o2vend, try fixture("o2vend/order-create.json")).0 == 200)
        // Another process sees every acknowledged event while serve runs.
        let query = try CLI.run(["query", "--data", dir, "--ref", "or_k7m2q9xa"])
        #expect(query.stdout.split(separator: "\n").count == 4, "\(query.stderr)")
        let events = try await get(client, serve.base + "/v1/events?source=o2vend", bearer: admin)
        #expect(events.0 == 200 && events.1.contains("\"type\":\"Order.Create\""))
        #expect(try await get(client, serve.base + "/v1/events").0 == 401)

        // An account added from the CLI works at once; a rotated token is refused at once.
        let added = try CLI.run(["account", "add", "shop", "--data", dir, "--source", "orderspace", "--secret", "k"])
        #expect(added.status == 0, "\(added.stderr)")
        let token = try #require(added.stdout.split(separator: "\n").first { $0.hasPrefix("token: ") }).dropFirst(7)
        let url = serve.base + "/v1/orderspace/\(token)"
        let single = try fixture("orderspace/single-object.json")
        #expect(try await post(client, url, single).0 == 401, "unsigned")
        let signature = String(decoding: try CLI.run(["account", "list", "--data", dir]).stdout.utf8, as: UTF8.self)
        #expect(signature.contains("shop") && !signature.contains(String(token)))
        let rotated = try CLI.run(["account", "rotate", "shop", "--data", dir])
        #expect(rotated.stdout.contains("token: "))
        #expect(try await post(client, url, single).0 == 401)
        #expect(try CLI.run(["account", "remove", "default", "--data", dir]).status == 0)
        #expect(try await post(client, orderspace, single).0 == 401)

        try await client.shutdown()
        #expect(await serve.terminate() == 0)
        let logs = serve.stderr
        #expect(logs.contains("trace") || logs.contains("debug") || logs.contains("info"))
        for secret in [admin, String(token), String(orderspace.split(separator: "/").last!)] {
            #expect(!logs.contains(secret), "a secret reached the log")
        }
        // Accounts at rest: hashes only.
        let file = String(decoding: FileManager.default.contents(atPath: dir + "/accounts.json")!, as: UTF8.self)
        #expect(!file.contains(String(token)) && !file.contains(String(orderspace.split(separator: "/").last!)))
        // A second start creates nothing new and prints no token.
        let again = try await ServeProcess(data: dir)
        #expect(again.adminToken == nil && again.lines.contains { $0.contains("accounts: shop") })
        #expect(await again.terminate() == 0)
    }

    @Test("SIGTERM under load: every acknowledged event is stored exactly once, the exit is clean, check is clean")
    func sigtermDuringLoad() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let serve = try await ServeProcess(data: dir)
        let url = try #require(serve.url("o2vend"))
        // Once serve has gone, new connections are refused: fail them fast.
        let client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: .init(timeout: .init(connect: .milliseconds(500))))
        let acked = Locked<[String]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for i in 0..<10_000 {
                        let id = "ev-\(worker)-\(i)"
                        let body =
                            "{\"Id\":\"\(id)\",\"Event\":\"Order.Create\",\"Attempt\":1,\"Data\":{\"Id\":\(i),\"CustomerId\":\(worker)}}"
                        guard let (status, _) = try? await post(client, url, Array(body.utf8)) else { return }
                        if status == 200 { acked.withLock { $0.append(id) } } else { return }
                    }
                }
            }
            group.addTask {
                while acked.withLock({ $0.count }) < 300 { try await Task.sleep(for: .milliseconds(5)) }
                serve.process.terminate()
                let t0 = ContinuousClock.now
                await Task.detached { serve.process.waitUntilExit() }.value
                #expect(
                    ContinuousClock.now - t0 < .seconds(30), "SIGTERM drains and exits (well before any client timeout)"
                )
            }
            try await group.waitForAll()
        }
        try await client.shutdown()
        let status = await Task.detached {
            serve.process.waitUntilExit()
            return serve.process.terminationStatus
        }.value
        #expect(status == 0, "\(serve.stderr)")
        let ackedIDs = acked.withLock { $0 }
        #expect(ackedIDs.count >= 300)
        let stored = try ArchiveReader(directory: dir).snapshot().events()
        let storedIDs = stored.compactMap(\.id)
        #expect(Set(storedIDs).count == storedIDs.count, "nothing stored twice")
        #expect(Set(ackedIDs).isSubset(of: Set(storedIDs)), "every acknowledged event is stored")
        let check = try CLI.run(["check", "--data", dir])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test("serve refuses a second writer and bad flags in one line")
    func startupErrors() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let serve = try await ServeProcess(data: dir)
        let second = try CLI.run(["serve", "--data", dir, "--port", "0"])
        #expect(second.status == 1)
        #expect(
            second.stderr.hasPrefix("hooklog: ") && second.stderr.split(separator: "\n").count == 1, "\(second.stderr)")
        #expect(await serve.terminate() == 0)
        let bad = try CLI.run(["serve", "--data", dir, "--dedupe-window", "forever"])
        #expect(bad.status == 2 && bad.stderr.contains("--dedupe-window"))
        let port = try CLI.run(["account", "add", "x", "--data", dir, "--source", "nosuch"])
        #expect(port.status == 1 && port.stderr.contains("no source named 'nosuch'"))
    }
}
