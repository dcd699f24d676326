import AsyncHTTPClient
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection driven byte by byte, for clients that misbehave.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { throw CancellationError() }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Everything the server sends until it closes (or 30 s of silence).
    func readAll() -> String {
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// What the server sends within `seconds`, and whether it closed the connection by then (an orderly
    /// close or a reset).
    func readUntilClosed(within seconds: Double) -> (text: String, closed: Bool) {
        var tick = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, socklen_t(MemoryLayout<timeval>.size))
        let deadline = Date().addingTimeInterval(seconds)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                out += buffer[0..<n]
            } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                return (String(decoding: out, as: UTF8.self), true)
            }
        }
        return (String(decoding: out, as: UTF8.self), false)
    }

    /// One whole answer (its head, and its body by `Content-Length`), or what came before the server
    /// closed or `seconds` passed.
    func readAnswer(within seconds: Double) -> String {
        var tick = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, socklen_t(MemoryLayout<timeval>.size))
        let deadline = Date().addingTimeInterval(seconds)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                out += buffer[0..<n]
                let text = String(decoding: out, as: UTF8.self)
                if let end = text.range(of: "\r\n\r\n") {
                    let length =
                        text[..<end.lowerBound].split(separator: "\r\n")
                        .first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    if text[end.upperBound...].utf8.count >= length { return text }
                }
            } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                break
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Ends the connection from this side (the descriptor stays open until `deinit`).
    func hangUp() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Sends `count` bytes of spaces (a body's padding).
    func sendSpaces(_ count: Int) {
        let bytes = [UInt8](repeating: UInt8(ascii: " "), count: count)
        var sent = 0
        while sent < count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    deinit { close(fd) }
}

/// The path of one of `serve`'s printed URLs (`/v1/o2vend/TOKEN`), and its port.
func pathAndPort(_ serve: ServeProcess, _ label: String) throws -> (path: String, port: Int) {
    let url = try #require(serve.url(label))
    let port = try #require(Int(serve.base.split(separator: ":").last!))
    return (String(url.dropFirst(serve.base.count)), port)
}

/// A request head, `Content-Length` declared, no body.
func head(_ path: String, contentLength: Int) -> String {
    "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(contentLength)\r\n\r\n"
}

/// A small O2VEND delivery with its own Id.
func o2vendEvent(_ id: String) -> [UInt8] {
    Array("{\"Id\":\"\(id)\",\"Event\":\"Order.Create\",\"Attempt\":1,\"Data\":{\"Id\":1}}".utf8)
}

@Suite(.serialized) struct SlowClientTests {
    @Test("a slow-drip body gets a 408 and the connection is closed, while other requests are answered")
    func slowDrip() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let serve = try await ServeProcess(data: dir, extra: ["--body-timeout", "1s"])
        let url = try #require(serve.url("o2vend"))
        let port = Int(serve.base.split(separator: ":").last!)!
        let path = String(url.dropFirst(serve.base.count))
        let slow = try RawConnection(port: port)
        slow.send(
            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"
        )
        let started = Date()
        let drip = Task.detached {
            for _ in 0..<12 {
                try await Task.sleep(for: .milliseconds(250))
                slow.send(" ")
            }
        }
        // Meanwhile, ordinary deliveries are answered (no timing asserted: tests share the machine).
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        for i in 0..<20 {
            let body = "{\"Id\":\"fast-\(i)\",\"Event\":\"Order.Create\",\"Attempt\":1,\"Data\":{\"Id\":\(i)}}"
            #expect(try await post(client, url, Array(body.utf8)).0 == 200)
        }
        let answer = await Task.detached { slow.readAll() }.value
        drip.cancel()
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        // The drip stops after 3 s and the body never completes: only the body timeout answers it before
        // the 60 s idle timeout would.
        #expect(Date().timeIntervalSince(started) < 30)
        try await client.shutdown()
        #expect(await serve.terminate() == 0)
        #expect(try CLI.run(["query", "--data", dir]).stdout.split(separator: "\n").count == 20)
    }
}

/// The door: what a request's head decides before its body is read, the body budget, the connection cap
/// and the head timeout, through a real `serve` and raw sockets.
@Suite(.serialized, .timeLimit(.minutes(2))) struct DoorTests {
    @Test(
        "an unknown token, source or an over-limit length is answered from the head and the connection closed; real deliveries go on"
    )
    func refusedFromTheHead() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let serve = try await ServeProcess(data: dir, extra: ["--max-body", "1m"])
        let (path, port) = try pathAndPort(serve, "o2vend")
        let token = String(path.split(separator: "/").last!)
        // Bodies of a gigabyte are declared and never sent: only an answer from the head can come back.
        let cases: [(path: String, length: Int, status: String)] = [
            ("/v1/o2vend/hl_nosuchtoken", 1 << 30, "401"),
            ("/v1/hooks/nosuch/\(token)", 1 << 30, "401"),
            (path, 1 << 30, "413"),
            ("/v1/no/such/route", 1 << 30, "404"),
        ]
        for (requestPath, length, status) in cases {
            let connection = try RawConnection(port: port)
            connection.send(head(requestPath, contentLength: length))
            let (answer, closed) = connection.readUntilClosed(within: 5)
            #expect(answer.hasPrefix("HTTP/1.1 \(status)"), "\(requestPath): \(answer)")
            #expect(answer.lowercased().contains("connection: close"), "\(answer)")
            #expect(closed, "\(requestPath): the connection is closed after the answer, its body unread")
        }
        // An attack of many such connections at once, each trickling a little, leaves deliveries working.
        let attackers = try (0..<50).map { _ in try RawConnection(port: port) }
        for (k, attacker) in attackers.enumerated() {
            attacker.send(head(k % 2 == 0 ? "/v1/o2vend/hl_nosuchtoken" : path, contentLength: 1 << 20))
            attacker.sendSpaces(1000)
        }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        for i in 0..<10 {
            #expect(try await post(client, serve.base + path, o2vendEvent("after-\(i)")).0 == 200)
        }
        // Gone before the end: a graceful stop waits for the bodies being read (up to --body-timeout).
        for attacker in attackers { attacker.hangUp() }
        try await client.shutdown()
        #expect(await serve.terminate() == 0)
        #expect(try CLI.run(["query", "--data", dir]).stdout.split(separator: "\n").count == 10)
    }

    @Test(
        "a body the budget has no room for gets a 503 with Retry-After at once; small deliveries keep their share; a disconnect releases its bytes"
    )
    func bodyBudget() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let serve = try await ServeProcess(data: dir, extra: ["--max-body", "1m", "--max-inflight-bytes", "2m"])
        let (path, port) = try pathAndPort(serve, "o2vend")
        // 1 MiB is held (bodies over 64 KiB may hold 1.5 MiB of the 2): a second one does not fit.
        let holder = try RawConnection(port: port)
        holder.send(head(path, contentLength: 1 << 20))
        holder.sendSpaces(100)
        try await Task.sleep(for: .milliseconds(200))
        let refused = try RawConnection(port: port)
        refused.send(head(path, contentLength: 1 << 20))
        let (answer, closed) = refused.readUntilClosed(within: 5)
        #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
        #expect(answer.contains("Retry-After: 1") || answer.contains("retry-after: 1"), "\(answer)")
        #expect(closed)
        // A chunked body reserves as it comes: past the half megabyte left for bulk bodies, it gets the 503.
        let chunked = try RawConnection(port: port)
        chunked.send("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in 0..<12 {
            chunked.send(String(64 << 10, radix: 16) + "\r\n")
            chunked.sendSpaces(64 << 10)
            chunked.send("\r\n")
        }
        let (chunkedAnswer, chunkedClosed) = chunked.readUntilClosed(within: 5)
        #expect(chunkedAnswer.hasPrefix("HTTP/1.1 503") && chunkedClosed, "\(chunkedAnswer)")
        // A small delivery still fits.
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        #expect(try await post(client, serve.base + path, o2vendEvent("small")).0 == 200)
        // The holder goes away mid-body: its megabyte is free again, and a whole 1 MiB delivery is stored.
        holder.hangUp()
        let event = o2vendEvent("large")
        var stored = false
        for _ in 0..<50 where !stored {
            let large = try RawConnection(port: port)
            large.send(head(path, contentLength: 1 << 20))
            large.send(String(decoding: event, as: UTF8.self))
            large.sendSpaces((1 << 20) - event.count)
            stored = large.readAnswer(within: 5).hasPrefix("HTTP/1.1 200")
            if !stored { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(stored, "the disconnected body's reservation was released")
        try await client.shutdown()
        #expect(await serve.terminate() == 0)
    }

    @Test("past --max-connections a connection is answered 503 and closed; once one closes, deliveries go through")
    func connectionCap() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let serve = try await ServeProcess(data: dir, extra: ["--max-connections", "3", "--head-timeout", "60s"])
        let (path, port) = try pathAndPort(serve, "o2vend")
        var held = try (0..<3).map { _ in try RawConnection(port: port) }
        try await Task.sleep(for: .milliseconds(200))
        let extra = try RawConnection(port: port)
        let (answer, closed) = extra.readUntilClosed(within: 5)
        #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
        #expect(answer.contains("Retry-After: 1"), "\(answer)")
        #expect(closed)
        // One of the three leaves: a delivery gets its place.
        held.removeLast()
        var status = 0
        for _ in 0..<50 where status != 200 {
            let connection = try RawConnection(port: port)
            let event = String(decoding: o2vendEvent("capped"), as: UTF8.self)
            connection.send(head(path, contentLength: event.utf8.count) + event)
            status = Int(connection.readAnswer(within: 1).dropFirst(9).prefix(3)) ?? 0
            if status != 200 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(status == 200)
        withExtendedLifetime(held) {}
        #expect(await serve.terminate() == 0)
    }

    @Test("a head that does not arrive whole within --head-timeout closes the connection; an idle kept-alive one stays")
    func headTimeout() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let serve = try await ServeProcess(data: dir, extra: ["--head-timeout", "1s"])
        let (path, port) = try pathAndPort(serve, "o2vend")
        let silent = try RawConnection(port: port)
        let trickler = try RawConnection(port: port)
        let started = Date()
        let headText = head(path, contentLength: 10)
        let drip = Task.detached {
            for byte in headText.prefix(40) {
                trickler.send(String(byte))
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let (_, silentClosed) = silent.readUntilClosed(within: 5)
        let (trickled, trickleClosed) = trickler.readUntilClosed(within: 5)
        let elapsed = Date().timeIntervalSince(started)
        drip.cancel()
        #expect(silentClosed && trickleClosed)
        #expect(trickled.isEmpty, "closed, not answered: \(trickled)")
        #expect(
            elapsed >= 0.9 && elapsed < 4,
            "closed after the 1 s head timeout, before the head would have been whole: \(elapsed) s")
        // A kept-alive connection idle between requests is left to the idle timeout.
        let kept = try RawConnection(port: port)
        for i in 0..<2 {
            let event = String(decoding: o2vendEvent("kept-\(i)"), as: UTF8.self)
            kept.send(head(path, contentLength: event.utf8.count) + event)
            let reply = kept.readAnswer(within: 5)
            #expect(
                reply.hasPrefix("HTTP/1.1 200") && !reply.lowercased().contains("connection: close"),
                "request \(i): \(reply)")
            if i == 0 { try await Task.sleep(for: .milliseconds(1500)) }
        }
        #expect(await serve.terminate() == 0)
    }
}
