import HooklogStore
import Hummingbird
import Logging
import NIOCore

/// The HTTP face of ingest: the routes of the contract on a Hummingbird router.
///
/// Routes stay thin: they read the body within the limits, hand it to `Ingestor`, and turn its answer
/// into a status and a small JSON body.
public enum IngestServer {
    /// Builds the router.
    ///
    /// - Parameters:
    ///   - metricsText: the Prometheus exposition text for `GET /metrics` (the executable owns the
    ///     metrics backend).
    public static func router(
        ingestor: Ingestor, metricsText: @escaping @Sendable () -> String = { "" }
    ) -> Router<IngestRequestContext> {
        let router = Router(context: IngestRequestContext.self)
        let watchdog = BodyWatchdog(timeout: ingestor.settings.bodyTimeout)
        router.post("/v1/orderspace/:token") { request, context in
            await deliver(.orderspace, request, context, ingestor, watchdog)
        }
        router.post("/v1/o2vend/:token") { request, context in
            await deliver(.o2vend, request, context, ingestor, watchdog)
        }
        router.post("/v1/hooks/:source/:token") { request, context in
            guard let source = context.parameters.get("source") else { return json(404, error: "not found") }
            return await deliver(.generic(source), request, context, ingestor, watchdog)
        }
        router.get("/healthz") { _, _ in
            if let problem = ingestor.store.health {
                return json(503, body: "{\"status\":\"failing\",\"error\":\(quoted(problem))}")
            }
            return json(200, body: "{\"status\":\"ok\"}")
        }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metricsText())))
        }
        router.get("/v1/events") { request, _ in
            EventsEndpoint.respond(to: request, ingestor: ingestor)
        }
        return router
    }

    private static func deliver(
        _ route: IngestRoute, _ request: Request, _ context: IngestRequestContext, _ ingestor: Ingestor,
        _ watchdog: BodyWatchdog
    ) async -> Response {
        do throws(IngestError) {
            guard let token = context.parameters.get("token") else { throw .unauthorized }
            let body = try await readBody(request, on: context.channel, limit: ingestor.settings.maxBodyBytes, watchdog: watchdog)
            var headers: [String: String] = [:]
            for field in request.headers {
                let name = field.name.canonicalName
                if let earlier = headers[name] { headers[name] = earlier + ", " + field.value } else { headers[name] = field.value }
            }
            let receipt = try await ingestor.ingest(route, token: token, headers: headers, body: body)
            context.logger.debug(
                "stored a delivery",
                metadata: ["route": "\(route.sourceName)", "events": "\(receipt.events)", "stored": "\(receipt.stored)"])
            return json(200, body: receipt.json)
        } catch {
            // Never the token (it is in the path) nor any header: only the route and why.
            context.logger.debug(
                "refused a delivery", metadata: ["route": "\(route.sourceName)", "status": "\(error.status)", "reason": "\(error.message)"])
            ingestor.refused(route, status: error.status)
            if error.status == 401 { return json(401, error: "unauthorized") }
            var response = json(error.status, error: error.message)
            if error.status == 503 { response.headers[.retryAfter] = "5" }
            if error.status == 408 || error.status == 413 { response.headers[.connection] = "close" }
            return response
        }
    }

    /// The whole body, refused with a 413 past `limit` bytes and a 408 if it is not all there within the
    /// watchdog's timeout.
    ///
    /// Read straight into one array sized by `Content-Length` (up to 1 MiB ahead of the bytes: a sender's
    /// word alone reserves no more), rather than collected into a growing `ByteBuffer` and then copied
    /// out (a 38 KB batch is read in several parts).
    static func readBody(
        _ request: Request, on channel: any Channel, limit: Int, watchdog: BodyWatchdog
    ) async throws(IngestError) -> [UInt8] {
        let tooLarge = IngestError(status: 413, "the body is over the \(limit)-byte limit; send fewer events a request")
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > limit { throw tooLarge }
        var body: [UInt8] = []
        body.reserveCapacity(max(0, min(declared ?? 16_384, limit, 1 << 20)))
        var overLimit = false
        var unreadable = false
        let ticket = watchdog.start(channel)
        do {
            for try await part in request.body {
                guard body.count + part.readableBytes <= limit else {
                    overLimit = true
                    break
                }
                body.append(contentsOf: part.readableBytesView)
            }
        } catch {
            unreadable = true
        }
        if watchdog.finish(ticket) { throw IngestError(status: 408, "the body did not arrive within \(watchdog.timeout)") }
        if overLimit { throw tooLarge }
        if unreadable { throw IngestError(status: 400, "the body could not be read") }
        return body
    }

    static func json(_ status: Int, error message: String) -> Response {
        json(status, body: "{\"error\":\(quoted(message))}")
    }

    static func json(_ status: Int, body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        var text = body
        text.append("\n")
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        JSONText.appendString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
