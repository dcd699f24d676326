import ArgumentParser
import HooklogIngest
import HooklogSigning
import HooklogStore
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus

#if canImport(Glibc)
import Glibc
#endif

extension Hooklog {
    /// Receives webhooks and archives them.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Receive webhooks (Orderspace, O2VEND, generic sources) and archive every event.",
            discussion: """
                Answers 200 only once every event of a request is durable; a request is stored whole or not \
                at all; redeliveries are acknowledged and not stored twice. With no account configured it \
                creates 'default' (any source, no secret) and prints its webhook URLs and the admin token, \
                so the first run needs nothing. Accounts and sources changed with `hooklog account` and \
                `hooklog source` take effect at once. SIGTERM or Ctrl-C finish the requests in flight, then stop.

                Routes:
                  POST /v1/orderspace/TOKEN         Orderspace (a JSON list of 1-50 events)
                  POST /v1/o2vend/TOKEN             O2VEND (one event object, or a list)
                  POST /v1/hooks/SOURCE/TOKEN       a generic source (`hooklog source add`)
                  GET  /v1/events?ref=…&limit=…     NDJSON, like `hooklog query` (Authorization: Bearer ADMIN-TOKEN)
                  GET  /healthz, GET /metrics       health, Prometheus metrics
                """)

        @OptionGroup var options: DataOptions

        @Option(help: "The address to listen on (0.0.0.0 for every interface).")
        var host = "127.0.0.1"

        @Option(help: "The port to listen on (0 picks a free one, printed at start).")
        var port = 8080

        @Option(
            help: ArgumentHelp(
                "How long a byte-identical ID-less request (Orderspace) counts as a retry.", valueName: "DURATION"))
        var dedupeWindow = "7d"

        @Option(help: ArgumentHelp("Bodies over this size get a 413 (bytes; k, m suffixes).", valueName: "SIZE"))
        var maxBody = "4m"

        @Option(help: ArgumentHelp("A body that takes longer to arrive gets a 408.", valueName: "DURATION"))
        var bodyTimeout = "30s"

        @Option(
            help: ArgumentHelp(
                "A connection whose request head has not arrived whole this long after it opened (or after its first byte, between requests) is closed.",
                valueName: "DURATION"))
        var headTimeout = "10s"

        @Option(
            help: ArgumentHelp(
                "The request body bytes held at once across all requests (k, m, g suffixes; default 64m, or 16 × --max-body if larger). A request whose declared length does not fit gets a 503 with Retry-After before its body is read; bodies over 64k may fill three quarters of it, the rest is kept for smaller ones.",
                valueName: "SIZE"))
        var maxInflightBytes: String?

        @Option(help: "Connections open at once; more are answered 503 with Retry-After and closed.")
        var maxConnections = 2048

        @Option(
            help: ArgumentHelp(
                "Delete whole sealed segments older than this (default: keep everything).", valueName: "DURATION"))
        var retainFor: String?

        @Option(
            help: ArgumentHelp(
                "Delete the oldest sealed segments beyond this size (k, m, g suffixes).", valueName: "SIZE"))
        var retainBytes: String?

        @Option(
            help: ArgumentHelp(
                "Advanced: seal the active segment once it holds this much log (k, m, g suffixes; 4k to 1g). Smaller segments are sealed, indexed and deleted by retention sooner; the archive works the same.",
                valueName: "SIZE"))
        var segmentSize = "64m"

        @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
        var logLevel = "info"

        func validate() throws {
            guard RFC3339.parseDuration(dedupeWindow) != nil else {
                throw ValidationError(
                    "--dedupe-window '\(dedupeWindow)' is not a duration of at most 100 years (90s, 15m, 2h, 7d)")
            }
            guard let bytes = ByteSize.parse(maxBody), bytes > 0 else {
                throw ValidationError(
                    "--max-body '\(maxBody)' is not a positive size that fits 64 bits (1048576, 512k, 4m)")
            }
            guard RFC3339.parseDuration(bodyTimeout).map({ $0 > 0 }) == true else {
                throw ValidationError(
                    "--body-timeout '\(bodyTimeout)' is not a duration of at most 100 years (10s, 1m)")
            }
            guard RFC3339.parseDuration(headTimeout).map({ $0 > 0 }) == true else {
                throw ValidationError("--head-timeout '\(headTimeout)' is not a duration (10s, 1m)")
            }
            if let maxInflightBytes {
                guard let inflight = ByteSize.parse(maxInflightBytes), inflight > 0 else {
                    throw ValidationError("--max-inflight-bytes '\(maxInflightBytes)' is not a size (64m, 1g)")
                }
                guard inflight / 2 >= bytes else {
                    throw ValidationError(
                        "--max-inflight-bytes \(maxInflightBytes) is less than twice --max-body \(maxBody); raise it or lower --max-body"
                    )
                }
            }
            guard maxConnections > 0, maxConnections <= 1 << 20 else {
                throw ValidationError("--max-connections must be from 1 to 1048576")
            }
            guard let segmentBytes = ByteSize.parse(segmentSize), (4 << 10)...(1 << 30) ~= segmentBytes else {
                throw ValidationError("--segment-size '\(segmentSize)' is not a size from 4k to 1g (64m)")
            }
            if let retainFor, RFC3339.parseDuration(retainFor).map({ $0 > 0 }) != true {
                throw ValidationError("--retain-for '\(retainFor)' is not a duration of at most 100 years (30d, 12h)")
            }
            if let retainBytes, ByteSize.parse(retainBytes).map({ $0 > 0 }) != true {
                throw ValidationError(
                    "--retain-bytes '\(retainBytes)' is not a positive size that fits 64 bits (500m, 20g)")
            }
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError(
                    "--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
            }
            guard (0...65535).contains(port) else { throw ValidationError("--port must be 0-65535") }
        }

        func run() async throws {
            let level = Logger.Level(rawValue: logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = LazyMetadataLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = [
                .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .seconds(1),
            ]
            factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
            MetricsSystem.bootstrap(factory)
            let logger = Logger(label: "hooklog")

            let directory = options.directory
            var storeOptions = StoreOptions()
            storeOptions.maxAge = retainFor.flatMap(RFC3339.parseDuration).map { .microseconds($0) }
            storeOptions.maxBytes = retainBytes.flatMap(ByteSize.parse).map { UInt64($0) }
            storeOptions.segmentSize = ByteSize.parse(segmentSize) ?? storeOptions.segmentSize
            let store: ArchiveStore
            do {
                // Made owner-only before the store makes it: it holds every payload and the secrets.
                try AccountFile.makePrivateDirectory(directory)
                store = try ArchiveStore.open(directory: directory, options: storeOptions)
            } catch {
                fail(error)
            }
            for note in store.recoveryNotes { logger.notice("recovery: \(note)") }

            let firstStart: (account: String, admin: String)?
            do {
                firstStart = try Self.prepareFirstStart(directory: directory)
            } catch {
                store.close()
                fail(error)
            }

            var settings = IngestSettings()
            settings.dedupeWindow = .microseconds(RFC3339.parseDuration(dedupeWindow) ?? 0)
            settings.maxBodyBytes = ByteSize.parse(maxBody) ?? settings.maxBodyBytes
            settings.bodyTimeout = .microseconds(RFC3339.parseDuration(bodyTimeout) ?? 30_000_000)
            settings.headTimeout = .microseconds(RFC3339.parseDuration(headTimeout) ?? 10_000_000)
            settings.maxInflightBytes =
                maxInflightBytes.flatMap(ByteSize.parse)
                ?? max(
                    settings.maxInflightBytes,
                    settings.maxBodyBytes > Int.max / 16 ? Int.max : 16 * settings.maxBodyBytes)
            settings.maxConnections = maxConnections
            Self.raiseOpenFileLimit(toFit: maxConnections, logger: logger)
            let accounts = AccountDirectory(directory: directory, logger: logger)
            let ingestor = Ingestor(store: store, accounts: accounts, settings: settings, logger: logger)
            let router = IngestServer.router(ingestor: ingestor, metricsText: { registry.emitToString() })
            let host = self.host
            let names = accounts.current().book.accounts.map(\.name)
            let app = Application(
                router: router,
                // Idle keep-alive connections are dropped after a minute (`settings.idleTimeout`), late heads
                // after --head-timeout, connections past --max-connections at once.
                server: IngestServer.server(settings: settings),
                configuration: .init(address: .hostname(host, port: port), serverName: "hooklog"),
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? 0
                    let address = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
                    let (base, wildcard) = ServeAddress.baseURL(host: host, port: port)
                    say("hooklog: listening on http://\(address):\(port) (data: \(directory))")
                    if wildcard {
                        say(
                            "hooklog: note: \(host) is every interface; the URLs below use this machine's name: senders need a name or address that reaches it"
                        )
                    }
                    // `account add` and `rotate` print their URLs with this base.
                    do { try ServeAddress.record(base, directory: directory) } catch { logger.warning("\(error)") }
                    if let firstStart {
                        say(
                            "hooklog: created account 'default' for any source; its token is in these URLs and is shown only now:"
                        )
                        say("  orderspace: \(base)/v1/orderspace/\(firstStart.account)")
                        say("  o2vend:     \(base)/v1/o2vend/\(firstStart.account)")
                        say("  generic:    \(base)/v1/hooks/SOURCE/\(firstStart.account)")
                        say("hooklog: admin token for GET \(base)/v1/events (also printed by `hooklog admin-token`):")
                        say("token: \(firstStart.admin)")
                    } else {
                        say("hooklog: accounts: \(names.joined(separator: ", ")) (`hooklog account list` for more)")
                    }
                },
                logger: logger)
            do {
                try await app.runService()
            } catch {
                store.close()
                fail(ServeError("cannot serve on \(host):\(port): \(error)"))
            }
            // Every in-flight request has been answered (graceful shutdown drains them): close the log.
            store.close()
            logger.info("stopped; every acknowledged event is on disk")
        }

        /// Raises the soft limit on open files towards the hard one, so that `--max-connections`, not the
        /// limit, is what refuses connections (a process past the limit cannot accept, and the listen queue
        /// fills instead); warns when even the hard limit is lower.
        static func raiseOpenFileLimit(toFit connections: Int, logger: Logger) {
            // Besides the connections: the archive's segment files, the listening socket, standard streams.
            let wanted = rlim_t(connections + 256)
            var limit = rlimit()
            guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < wanted else { return }
            limit.rlim_cur = min(wanted, limit.rlim_max)
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            if limit.rlim_cur < wanted {
                logger.warning(
                    "the open-file limit (\(limit.rlim_cur)) is below --max-connections plus the archive's files; raise it (ulimit -n) or lower --max-connections"
                )
            }
        }

        /// With no account yet, creates `default` (any source) and the admin token.
        /// - Returns: the new account's token and the admin token, or nil if accounts already existed.
        static func prepareFirstStart(directory: String) throws(IngestConfigError) -> (account: String, admin: String)?
        {
            let file = AccountFile(directory: directory)
            let token: String? = try file.update { (book: inout AccountBook) throws(IngestConfigError) -> String? in
                guard book.accounts.isEmpty else { return nil }
                let token = Token.generate()
                book.accounts.append(
                    Account(
                        name: "default", source: Account.anySource, tokenHash: Token.hash(token),
                        created: RFC3339.format(micros: RFC3339.nowMicros())))
                return token
            }
            let admin = try AdminToken.ensure(directory: directory)
            guard let token else { return nil }
            return (token, admin.token)
        }
    }
}

/// A server start-up problem, said in one line.
struct ServeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Prints a line on standard output at once (scripts read `serve`'s URLs while it runs).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}
