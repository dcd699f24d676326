// hooklog-noop-server: the HTTP reference of benchmarks/ingest/run.sh. A Hummingbird 2 app set up as
// `hooklog serve` is (HTTP/1.1, 60 s idle timeout, the default event loops) whose POST routes collect
// the body and answer 200 `{}`: what serving the same requests costs with no ingest behind it.
//
//   hooklog-noop-server [--host 127.0.0.1] [--port 0]     prints `noop: listening on http://HOST:PORT`
import Hummingbird

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

var host = "127.0.0.1"
var port = 0
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--host": host = args.popFirst() ?? host
    case "--port": port = args.popFirst().flatMap { Int($0) } ?? port
    default:
        FileHandleless.stderr("usage: hooklog-noop-server [--host HOST] [--port PORT]\n")
        exit(2)
    }
}

enum FileHandleless {
    static func stdout(_ text: String) { write(1, text) }
    static func stderr(_ text: String) { write(2, text) }
    private static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}

@Sendable func noop(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
    _ = try await request.body.collect(upTo: 4 << 20)
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "{}\n")))
}

let router = Router(context: BasicRequestContext.self)
// The same paths as hooklog's ingest routes, so the load generator's URLs differ only in the port.
router.post("/v1/orderspace/:token", use: noop)
router.post("/v1/o2vend/:token", use: noop)
router.post("/v1/hooks/:source/:token", use: noop)

let listenHost = host
let app = Application(
    router: router,
    server: .http1(configuration: .init(idleTimeout: .seconds(60))),
    configuration: .init(address: .hostname(host, port: port), serverName: "hooklog-noop"),
    onServerRunning: { channel in
        FileHandleless.stdout("noop: listening on http://\(listenHost):\(channel.localAddress?.port ?? 0)\n")
    })
try await app.runService()
