import HooklogStore
import Hummingbird
import HummingbirdCore
import NIOCore

/// `GET /v1/events?account=&source=&type=&entity=&ref=&since=&until=&contains=&limit=&reverse=`: the
/// query CLI over HTTP, NDJSON lines as `hooklog query` prints them, behind the admin token.
public enum EventsEndpoint {
    /// Events go out in chunks of about this many bytes; each chunk is a fresh scan that resumes after
    /// the last `seq` sent, so a slow client holds back the scan instead of filling memory.
    static let chunkBytes = 256 << 10

    static func respond(to request: Request, ingestor: Ingestor) -> Response {
        let snapshotOfAccounts = ingestor.accounts.current()
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
            snapshotOfAccounts.isAdmin(token: String(authorization.dropFirst(7)).trimmingCharacters(in: [" "]))
        else {
            var response = IngestServer.json(401, error: "unauthorized")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        let query: (filter: EventFilter, limit: Int?, reverse: Bool)
        do throws(IngestError) {
            query = try parse(request.uri.queryParameters, now: RFC3339.nowMicros())
        } catch {
            return IngestServer.json(400, error: error.message)
        }
        let snapshot: ArchiveSnapshot
        do {
            snapshot = try ingestor.store.reader().snapshot()
        } catch {
            return IngestServer.json(503, error: "the archive cannot be read right now: \(error.message)")
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson"
        let body = ResponseBody { writer in
            var filter = query.filter
            var remaining = query.limit ?? Int.max
            var chunk: [UInt8] = []
            var done = false
            while !done && remaining > 0 {
                chunk.removeAll(keepingCapacity: true)
                var last: UInt64?
                var count = 0
                // Reverse order cannot resume by `afterSeq`; bound it by `until` on seq instead.
                try snapshot.forEachView(matching: filter, reverse: query.reverse, limit: remaining) { e in
                    e.appendNDJSON(to: &chunk)
                    chunk.append(0x0A)
                    last = e.seq
                    count += 1
                    return chunk.count < chunkBytes
                }
                remaining -= count
                if let last, chunk.count >= chunkBytes {
                    if query.reverse { filter.beforeSeq = last } else { filter.afterSeq = last }
                } else {
                    done = true
                }
                if !chunk.isEmpty { try await writer.write(ByteBuffer(bytes: chunk)) }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The filter, limit and order of a query string (`ref=or_1&since=2h&limit=5`, percent-encoded as
    /// sent), with durations back from `now` (µs).
    ///
    /// - Throws: `IngestError` 400 for a time, duration or limit that does not parse.
    public static func parse(
        query: String, now: Int64
    ) throws(IngestError) -> (filter: EventFilter, limit: Int?, reverse: Bool) {
        try parse(URI("/v1/events?" + query).queryParameters, now: now)
    }

    static func parse(
        _ parameters: Parameters, now: Int64
    ) throws(IngestError) -> (filter: EventFilter, limit: Int?, reverse: Bool) {
        func text(_ name: String) -> String? { parameters.get(name).flatMap { $0.isEmpty ? nil : String($0) } }
        func time(_ name: String) throws(IngestError) -> Int64? {
            guard let value = text(name) else { return nil }
            guard let t = RFC3339.parse(value, now: now) else {
                throw IngestError(
                    status: 400,
                    "\(name)=\(value) is neither an RFC 3339 time nor a duration back from now of at most 100 years (15m, 2h, 7d)"
                )
            }
            return t
        }
        var limit: Int?
        if let value = text("limit") {
            guard let n = Int(value), n >= 0 else { throw IngestError(status: 400, "limit=\(value) is not a count") }
            limit = n
        }
        let filter = EventFilter(
            account: text("account"), source: text("source"), type: text("type"), entity: text("entity"),
            ref: text("ref"),
            since: try time("since"), until: try time("until"), contains: text("contains").map { Array($0.utf8) })
        let reverse = text("reverse").map { $0 == "true" || $0 == "1" } ?? false
        return (filter, limit, reverse)
    }
}
