import AsyncHTTPClient
import Foundation
import NIOCore

/// The most of an answer's body a poster reads (and drops): a receiver that sends more has answered all
/// the same, but its connection is closed rather than read to the end.
let maximumAnswerBodyBytes = 1 << 20

/// The answer's head came, its body did not end within the timeout: the answer is incomplete, and the
/// request is tried again as after any timeout (a receiver that trickles its body holds no lane for ever).
struct AnswerBodyTimedOut: Error, CustomStringConvertible {
    var description: String { "the answer's body did not arrive within the timeout" }
}

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
///
/// `timeout` covers the whole exchange, the answer's body included: AsyncHTTPClient's deadline ends
/// once the head is in, so the body is read here against the same deadline.
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
        let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
        let response = try await client.execute(request, deadline: deadline)
        let answer = PostAnswer(
            status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"))
        try await Self.drain(response.body, until: deadline)
        return answer
    }

    /// Reads and drops an answer's body, up to `maximumAnswerBodyBytes`, by `deadline`.
    /// - Throws: `AnswerBodyTimedOut` if the body has not ended by then (the read is cancelled, which
    ///   closes the connection).
    static func drain(_ body: HTTPClientResponse.Body, until deadline: NIODeadline) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                var read = 0
                for try await chunk in body {
                    read += chunk.readableBytes
                    // Enough read: leaving the rest cancels the request, and its connection with it.
                    if read > maximumAnswerBodyBytes { break }
                }
                return true
            }
            group.addTask {
                let left = deadline - NIODeadline.now()
                if left > .zero { try await Task.sleep(for: .nanoseconds(left.nanoseconds)) }
                return false
            }
            defer { group.cancelAll() }
            guard let ended = try await group.next(), ended else { throw AnswerBodyTimedOut() }
        }
    }

    func close() async {}
}
