import HooklogStore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// The HTTP face of ingest: the routes of the contract on a Hummingbird router.
///
/// Routes stay thin: they let the request in on its head (`Ingestor.admit`: the token, the route, the
/// declared length, the body budget), read the body within the limits, hand it to `Ingestor`, and turn its
/// answer into a status and a small JSON body. Whatever is refused before the body is read whole is
/// answered with `Connection: close`, and the connection is closed without reading the rest.
public enum IngestServer {
    /// The HTTP/1.1 server with hooklog's door: the connection limit and the head timeout of `settings`
    /// (see `DoorChannel`).
    public static func server(settings: IngestSettings) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in DoorChannel(responder: responder, settings: settings) }
    }

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
        let budget = BodyBudget(capacity: ingestor.settings.maxInflightBytes)
        router.post("/v1/orderspace/:token") { request, context in
            await deliver(.orderspace, request, context, ingestor, watchdog, budget)
        }
        router.post("/v1/o2vend/:token") { request, context in
            await deliver(.o2vend, request, context, ingestor, watchdog, budget)
        }
        router.post("/v1/hooks/:source/:token") { request, context in
            guard let source = context.parameters.get("source") else { return json(404, error: "not found") }
            return await deliver(.generic(source), request, context, ingestor, watchdog, budget)
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
        _ watchdog: BodyWatchdog, _ budget: BodyBudget
    ) async -> Response {
        // Until the body is read whole, an answer closes the connection: the rest of the body is still
        // coming, and it is not read to find the next request.
        var bodyRead = false
        do throws(IngestError) {
            guard let token = context.parameters.get("token") else { throw .unauthorized }
            // Everything the head can tell is checked before a byte of the body is read or reserved.
            let admission = try ingestor.admit(route, token: token)
            let limit = ingestor.settings.maxBodyBytes
            let declared = request.headers[.contentLength].flatMap(Int.init)
            if let declared, declared > limit { throw .tooLarge(limit) }
            guard var reservation = budget.reserve(declared ?? 0) else { throw .overBudget }
            let body = try await readBody(
                request, on: context.channel, limit: limit, watchdog: watchdog, reservation: &reservation)
            bodyRead = true
            var headers: [String: String] = [:]
            for field in request.headers {
                let name = field.name.canonicalName
                if let earlier = headers[name] {
                    headers[name] = earlier + ", " + field.value
                } else {
                    headers[name] = field.value
                }
            }
            let receipt = try await ingestor.ingest(admission, headers: headers, body: body)
            context.logger.debug(
                "stored a delivery",
                metadata: [
                    "route": "\(route.sourceName)", "events": "\(receipt.events)", "stored": "\(receipt.stored)",
                ])
            return json(200, body: receipt.json)
        } catch {
            // Never the token (it is in the path) nor any header: only the route and why.
            context.logger.debug(
                "refused a delivery",
                metadata: ["route": "\(route.sourceName)", "status": "\(error.status)", "reason": "\(error.message)"])
            ingestor.refused(route, status: error.status)
            var response =
                error.status == 401 ? json(401, error: "unauthorized") : json(error.status, error: error.message)
            // A full body budget (before the body is read) clears in moments; a store that cannot write
            // takes longer.
            if error.status == 503 { response.headers[.retryAfter] = bodyRead ? "5" : "1" }
            if !bodyRead { response.headers[.connection] = "close" }
            return response
        }
    }

    /// The whole body, refused with a 413 past `limit` bytes, a 503 if a chunked body outgrows what the
    /// budget has room for, and a 408 if it is not all there within the watchdog's timeout.
    ///
    /// Read straight into one array sized by `Content-Length`, rather than collected into a growing
    /// `ByteBuffer` and then copied out (a 38 KB batch is read in several parts). The declared length is
    /// reserved in `reservation` already, so the array's capacity is taken up front (its pages are only
    /// touched as bytes arrive); a chunked body grows its reservation part by part.
    static func readBody(
        _ request: Request, on channel: any Channel, limit: Int, watchdog: BodyWatchdog,
        reservation: inout BodyBudget.Reservation
    ) async throws(IngestError) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(min(reservation.bytes > 0 ? reservation.bytes : 16_384, limit))
        var overLimit = false
        var overBudget = false
        var unreadable = false
        let ticket = watchdog.start(channel)
        do {
            for try await part in request.body {
                let total = body.count + part.readableBytes
                guard total <= limit else {
                    overLimit = true
                    break
                }
                if total > reservation.bytes, !reservation.grow(by: total - reservation.bytes) {
                    overBudget = true
                    break
                }
                body.append(contentsOf: part.readableBytesView)
            }
        } catch {
            unreadable = true
        }
        if watchdog.finish(ticket) {
            throw IngestError(status: 408, "the body did not arrive within \(watchdog.timeout)")
        }
        if overLimit { throw .tooLarge(limit) }
        if overBudget { throw .overBudget }
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
        return Response(
            status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        JSONText.appendString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

extension IngestError {
    /// A body over the `--max-body` limit.
    static func tooLarge(_ limit: Int) -> IngestError {
        IngestError(status: 413, "the body is over the \(limit)-byte limit; send fewer events a request")
    }

    /// A body the body budget has no room for now.
    static let overBudget = IngestError(
        status: 503, "the server is holding as many request bodies as it may; retry in a moment")
}
