import HooklogSigning
import HooklogStore
import Logging

/// Turns one authenticated delivery into stored events: checks the sender, extracts the events, appends
/// them whole through the store's group commit, and answers only once they are durable.
///
/// It knows nothing of HTTP (the routes in `IngestServer` feed it), so every rule here is testable with
/// plain values.
public final class Ingestor: Sendable {
    /// The archive events go to.
    public let store: ArchiveStore
    /// Accounts and sources, kept in step with their file.
    public let accounts: AccountDirectory
    /// Limits and windows.
    public let settings: IngestSettings
    let metrics: IngestMetrics
    let logger: Logger
    let clock: @Sendable () -> Int64

    /// Creates an ingestor over an open store.
    ///
    /// - Parameter clock: the current Unix time in seconds, for signatures with a timestamp (tests set it).
    public init(
        store: ArchiveStore, accounts: AccountDirectory, settings: IngestSettings = .init(), logger: Logger,
        clock: @escaping @Sendable () -> Int64 = { RFC3339.nowMicros() / 1_000_000 }
    ) {
        self.clock = clock
        self.store = store
        self.accounts = accounts
        self.settings = settings
        self.logger = logger
        self.metrics = IngestMetrics()
    }

    /// Stores a delivery whole, or refuses it whole.
    ///
    /// - Parameters:
    ///   - headers: the request's headers, names lowercased.
    /// - Throws: `IngestError` with the status to answer: 401 (unknown token, wrong route, no such source,
    ///   bad secret, header or signature: the message says no more), 400 (the body), 503 (the store cannot
    ///   write; the sender should retry).
    public func ingest(
        _ route: IngestRoute, token: String, headers: [String: String], body: [UInt8]
    ) async throws(IngestError) -> IngestReceipt {
        try await ingest(admit(route, token: token), headers: headers, body: body)
    }

    /// Checks what a request's head alone can tell: the token names an account, the account takes the
    /// route's source, and a generic source exists. The routes ask before reading a byte of the body.
    ///
    /// - Throws: `IngestError.unauthorized` (401) for any of them: the answer says no more.
    public func admit(_ route: IngestRoute, token: String) throws(IngestError) -> Admission {
        let snapshot = accounts.current()
        guard let account = snapshot.account(token: token), account.accepts(source: route.sourceName) else {
            throw .unauthorized
        }
        if case .generic(let name) = route, snapshot.source(named: name) == nil {
            // The token is right, so the operator may be told what is missing (the sender is not).
            logger.notice(
                "refused a delivery to a source that does not exist; add it with 'hooklog source add'",
                metadata: ["account": "\(account.name)", "source": "\(name)"])
            throw .unauthorized
        }
        return Admission(route: route, account: account, snapshot: snapshot)
    }

    /// Stores a delivery whose head `admit` let in, or refuses it whole.
    ///
    /// - Parameters:
    ///   - headers: the request's headers, names lowercased.
    /// - Throws: `IngestError` with the status to answer, as `ingest(_:token:headers:body:)`.
    public func ingest(
        _ admission: Admission, headers: [String: String], body: [UInt8]
    ) async throws(IngestError) -> IngestReceipt {
        let started = ContinuousClock.now
        let route = admission.route
        let account = admission.account
        let events = try authenticateAndExtract(
            route, account: account, snapshot: admission.snapshot, headers: headers, body: body, now: clock())
        // Orderspace sends no event IDs and retries with the same bytes: the body's digest stands in.
        let idLess = events.allSatisfy { $0.id == nil }
        let request = AppendRequest(
            events: events.map { $0.newEvent(account: account.name, source: route.sourceName) },
            bodyDigest: idLess ? Array(HMACSHA256.digest(body).prefix(16)) : nil,
            dedupeWindow: settings.dedupeWindow)
        let result: AppendResult
        do {
            result = try await store.append(request)
        } catch let error as StoreError {
            logger.error(
                "cannot store a delivery", metadata: ["account": "\(account.name)", "error": "\(error.message)"])
            metrics.storeFailed()
            throw IngestError(status: 503, "the archive cannot store events right now; retry later")
        } catch {
            throw IngestError(status: 503, "the archive cannot store events right now; retry later")
        }
        var seqs: [UInt64] = []
        seqs.reserveCapacity(result.outcomes.count)
        for outcome in result.outcomes {
            switch outcome {
            case .stored(let s), .duplicate(let s): seqs.append(s)
            }
        }
        let receipt = IngestReceipt(
            events: events.count, stored: result.outcomes.count - result.duplicateCount,
            duplicates: result.duplicateCount,
            seqs: seqs)
        metrics.accepted(route, receipt: receipt, bytes: body.count, latency: ContinuousClock.now - started)
        return receipt
    }

    private func authenticateAndExtract(
        _ route: IngestRoute, account: Account, snapshot: AccountDirectory.Snapshot, headers: [String: String],
        body: [UInt8],
        now: Int64
    ) throws(IngestError) -> [ExtractedEvent] {
        let header = { (name: String) in headers[name.lowercased()] }
        for required in account.headers {
            guard let value = header(required.name), ConstantTime.equal(Token.hash(value), required.valueHash) else {
                throw .unauthorized
            }
        }
        switch route {
        case .orderspace:
            if let key = account.signingKey {
                guard
                    WebhookSignature.orderspace.verify(
                        secret: key, body: body, header: header, nowSeconds: now, tolerance: 0)
                else { throw .unauthorized }
            }
            return try OrderspaceSource.extract(body: body)
        case .o2vend:
            if let secretHash = account.secretHash {
                guard let value = header(account.secretHeader ?? "X-O2VEND-Secret"),
                    ConstantTime.equal(Token.hash(value), secretHash)
                else { throw .unauthorized }
            }
            return try O2VendSource.extract(body: body)
        case .generic(let name):
            guard let source = snapshot.source(named: name) else { throw .unauthorized }
            if source.verify != .none {
                guard let key = account.signingKey,
                    source.verify.verify(
                        secret: key, body: body, header: header, nowSeconds: now, tolerance: source.toleranceSeconds)
                else { throw .unauthorized }
            }
            return try source.extract(body: body, headers: headers)
        }
    }

    /// Counts a request refused before it reached the store.
    public func refused(_ route: IngestRoute?, status: Int) {
        metrics.refused(route, status: status)
    }
}

/// A delivery whose head `Ingestor.admit` let in: the account its token names, in the view of the accounts
/// it was checked against.
public struct Admission: Sendable {
    /// The route the delivery came in by.
    public let route: IngestRoute
    let account: Account
    let snapshot: AccountDirectory.Snapshot
}

extension IngestError {
    /// The one answer to every authentication failure: it says nothing of which part was wrong.
    public static let unauthorized = IngestError(status: 401, "unauthorized")
}
