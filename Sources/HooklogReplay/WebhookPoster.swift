import AsyncHTTPClient
import Foundation
import NIOCore

/// What a POST came back with: all replay needs of an answer.
struct PostAnswer: Sendable {
    var status: Int
    /// The `Retry-After` header, if any.
    var retryAfter: String?
}

/// Sends one request of a lane and waits for its answer. A lane sends one request at a time, so a
/// poster is used by one task at a time (it need not be `Sendable`).
protocol WebhookPoster: AnyObject {
    /// POSTs `body` with `headers` to the run's URL.
    /// - Throws: anything that leaves the request without an answer (connection refused or reset, timeout).
    func post(headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> PostAnswer
    /// Lets go of the connection (the lane is done).
    func close() async
}

/// Posts through AsyncHTTPClient: for `https://` URLs, and for requests the plain client does not
/// write itself (see `PlainHTTPConnection.accepts`).
final class AsyncHTTPClientPoster: WebhookPoster {
    let client: HTTPClient
    let url: String

    init(client: HTTPClient, url: String) {
        self.client = client
        self.url = url
    }

    func post(headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> PostAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
        _ = try? await response.body.collect(upTo: 1 << 20)
        return PostAnswer(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"))
    }

    func close() async {}
}
