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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
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

    deinit { close(fd) }
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
        slow.send("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
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
