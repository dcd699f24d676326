import ArgumentParser
import Dispatch
import Foundation
import HooklogReplay
import HooklogStore

extension Hooklog {
    /// Sends archived events to a webhook URL.
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send archived events to any webhook URL, shaped and signed as real consumers expect.",
            discussion: """
                Events go out in seq order per entity, entities in parallel (--concurrency lanes): a consumer \
                never sees an order's updated before its created. The original event bytes go out unchanged. \
                429, 5xx and timeouts are retried with exponential backoff and jitter (Retry-After honoured); \
                another 4xx is not. An event given up on goes to --dead-letter and the run goes on; \
                `--from-file DEAD-LETTER` sends those again. With --checkpoint, an interrupted run (Ctrl-C, \
                kill, crash) continues where it stopped when the same command is run again, and sends again \
                the events given up on. Exit 0 only if everything was delivered.

                Examples:
                  hooklog replay --to https://new.example/hooks --account shop --dry-run
                  hooklog replay --to https://new.example/hooks --account shop --sign orderspace --secret "$KEY" \\
                      --rate 20 --checkpoint shop.ckpt --dead-letter shop.dead.ndjson
                  hooklog replay --to https://new.example/hooks --from-file shop.dead.ndjson --sign orderspace --secret "$KEY"
                """)

        @OptionGroup var options: DataOptions
        @OptionGroup var filters: FilterOptions

        @Option(help: ArgumentHelp("The webhook URL to POST to.", valueName: "URL"))
        var to: String

        @Option(help: ArgumentHelp("Requests a second at most (N or N/s); default: no limit.", valueName: "N/s"))
        var rate: String?

        @Option(help: "Requests in flight at once (entities are spread over this many ordered lanes).")
        var concurrency = 8

        @Option(help: "Events a request with --shape orderspace (1-50).")
        var batch = 50

        @Option(
            help:
                "orderspace (a JSON list of original events), o2vend (one original event a request), envelope (the NDJSON object of an event)."
        )
        var shape: ReplayConfiguration.Shape = .orderspace

        @Option(
            help:
                "none, orderspace (X-Orderspace-Signature), standard-webhooks, hmac-sha256 (X-Hooklog-Signature: sha256=HEX)."
        )
        var sign: ReplayConfiguration.Signing = .none

        @Option(help: "The signing secret (a whsec_ secret for standard-webhooks).")
        var secret: String?

        @Option(help: ArgumentHelp("The header --sign hmac-sha256 writes.", valueName: "HEADER"))
        var signHeader = "X-Hooklog-Signature"

        @Option(
            name: .customLong("header"),
            help: ArgumentHelp("An extra header on every request (repeatable).", valueName: "K: V"))
        var headers: [String] = []

        @Option(help: "Tries a request gets before its events go to the dead-letter file.")
        var maxAttempts = 8

        @Option(
            help: ArgumentHelp("Write events given up on here (NDJSON, as `hooklog query` prints).", valueName: "FILE"))
        var deadLetter: String?

        @Option(
            help: ArgumentHelp(
                "Keep progress here; run the same command again to continue an interrupted replay.", valueName: "FILE"))
        var checkpoint: String?

        @Option(
            help: ArgumentHelp(
                "Send the events of this dead-letter file again (original bytes from the archive) instead of a filter.",
                valueName: "FILE"))
        var fromFile: String?

        @Option(help: ArgumentHelp("How long one request may take.", valueName: "DURATION"))
        var timeout = "30s"

        @Flag(help: "Print the plan (events, requests, entities, time range, duration at --rate) and send nothing.")
        var dryRun = false

        func validate() throws {
            guard let url = URL(string: to), let scheme = url.scheme, ["http", "https"].contains(scheme),
                url.host != nil
            else {
                throw ValidationError("--to '\(to)' is not an http(s) URL")
            }
            guard (1...50).contains(batch) else {
                throw ValidationError("--batch must be 1-50 (Orderspace sends at most 50 events a request)")
            }
            guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency must be 1-1024") }
            guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be 1 or more") }
            if let rate, parsedRate(rate) == nil {
                throw ValidationError("--rate '\(rate)' is not a positive number of requests a second (20 or 20/s)")
            }
            if sign != .none && secret == nil { throw ValidationError("--sign \(sign.rawValue) needs --secret") }
            guard RFC3339.parseDuration(timeout).map({ $0 > 0 }) == true else {
                throw ValidationError("--timeout '\(timeout)' is not a duration (30s, 2m)")
            }
            for h in headers where !h.contains(":") { throw ValidationError("--header '\(h)' is not 'Name: value'") }
            if fromFile != nil, filters.isActive {
                throw ValidationError("--from-file sends the file's events; it cannot be combined with filters")
            }
            var signing = ReplayConfiguration(url: to, filter: EventFilter())
            signing.signing = sign
            signing.secret = secret
            signing.signHeader = signHeader
            signing.headers = parsedHeaders
            if let problem = signing.problem { throw ValidationError(problem) }
        }

        /// The `--header`s as (name, value), both trimmed.
        var parsedHeaders: [(String, String)] {
            headers.compactMap { h in
                guard let colon = h.firstIndex(of: ":") else { return nil }
                return (
                    h[..<colon].trimmingCharacters(in: .whitespaces),
                    h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                )
            }
        }

        func parsedRate(_ text: String) -> Double? {
            let number = text.hasSuffix("/s") ? String(text.dropLast(2)) : text
            guard let value = Double(number), value > 0, value.isFinite else { return nil }
            return value
        }

        func run() async throws {
            var configuration = ReplayConfiguration(url: to, filter: try filters.filter(now: RFC3339.nowMicros()))
            configuration.fromFile = fromFile
            // As written, for the checkpoint: `--since 30d` is the same replay when run again tomorrow.
            configuration.sinceText = filters.since
            configuration.untilText = filters.until
            configuration.shape = shape
            configuration.batch = batch
            configuration.concurrency = concurrency
            configuration.rate = rate.flatMap(parsedRate)
            configuration.signing = sign
            configuration.secret = secret
            configuration.signHeader = signHeader
            configuration.headers = parsedHeaders
            configuration.maxAttempts = maxAttempts
            configuration.deadLetter = deadLetter
            configuration.checkpoint = checkpoint
            configuration.timeout = .microseconds(RFC3339.parseDuration(timeout) ?? 30_000_000)
            // Undocumented in --help, documented in the README: plain http:// through AsyncHTTPClient too.
            configuration.alwaysUseAsyncHTTPClient =
                getenv("HOOKLOG_REPLAY_HTTP_CLIENT").map { String(cString: $0) } == "async-http-client"
            let replayer = Replayer(directory: options.directory, configuration: configuration)

            if dryRun {
                let plan: Replayer.Summary
                do { plan = try replayer.plan() } catch { fail(error) }
                printPlan(plan, configuration)
                return
            }

            let onTerminal = isatty(2) != 0
            let started = ContinuousClock.now
            let interrupt = Self.onInterrupt { replayer.stop() }
            defer { interrupt.forEach { $0.cancel() } }
            let ticker = Task {
                guard onTerminal else { return }
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(500))
                    Self.progressLine(replayer.progress, since: started)
                }
            }
            let summary: Replayer.Summary
            do {
                summary = try await replayer.run()
            } catch {
                ticker.cancel()
                if onTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                fail(error)
            }
            ticker.cancel()
            if onTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            let elapsed = ContinuousClock.now - started
            if summary.alreadyComplete {
                print(
                    "replay: nothing to do; checkpoint \(checkpoint ?? "") says this replay is complete (remove it to send again)"
                )
                return
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            var line =
                "replay: delivered \(summary.delivered) of \(summary.events) events in \(summary.attempts - summary.retries) requests"
            line += " (\(summary.retries) retries) in \(String(format: "%.1f", seconds)) s"
            if summary.skipped > 0 { line += "; \(summary.skipped) already sent by an earlier run" }
            if summary.failed > 0 {
                line += "; \(summary.failed) failed" + (deadLetter.map { " (written to \($0))" } ?? "")
            }
            print(line)
            for failure in summary.failures { warn("gave up on \(failure)") }
            if summary.interrupted {
                fail(
                    ReplayStop(
                        checkpoint.map { "interrupted; run the same command again to continue from \($0)" }
                            ?? "interrupted (no --checkpoint: a new run starts over)"))
            }
            if summary.failed > 0 {
                // With a checkpoint the same command sends them again (they are not settled); without one,
                // the dead-letter file is the way to.
                let again =
                    checkpoint != nil
                    ? "; run the same command again to send them again"
                    : deadLetter.map { "; send them again with --from-file \($0)" } ?? ""
                fail(ReplayStop("\(summary.failed) events were not delivered" + again))
            }
        }

        func printPlan(_ plan: Replayer.Summary, _ configuration: ReplayConfiguration) {
            print("replay plan (dry run, nothing sent) to \(to)")
            if plan.alreadyComplete { print("  checkpoint:  complete; a run would send nothing") }
            print(
                "  events:      \(plan.events)"
                    + (plan.skipped > 0 ? " (\(plan.skipped) more already sent, per the checkpoint)" : ""))
            print(
                "  requests:    \(plan.requests) (\(shape.rawValue)\(shape == .orderspace ? ", up to \(batch) events each" : ", one event each"))"
            )
            print("  entities:    \(plan.entities), over \(concurrency) ordered lanes")
            if let range = plan.timeRange {
                print(
                    "  time range:  \(RFC3339.format(micros: range.lowerBound)) .. \(RFC3339.format(micros: range.upperBound))"
                )
            }
            if let rate = configuration.rate {
                let seconds = Double(plan.requests) / rate
                print("  duration:    about \(Self.duration(seconds)) at \(rate) requests/s")
            } else {
                print("  duration:    not limited by --rate; set by how fast the consumer answers")
            }
            print("  signing:     \(sign.rawValue)")
        }

        static func duration(_ seconds: Double) -> String {
            if seconds < 90 { return String(format: "%.0f s", seconds) }
            if seconds < 5400 { return String(format: "%.0f min", seconds / 60) }
            return String(format: "%.1f h", seconds / 3600)
        }

        static func progressLine(_ p: Replayer.Summary, since started: ContinuousClock.Instant) {
            let elapsed = ContinuousClock.now - started
            let seconds = max(0.001, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            let done = p.delivered + p.failed
            let rate = Double(done) / seconds
            let left = p.events - done
            let eta = rate > 0 ? duration(Double(left) / rate) : "?"
            let text =
                "\r\u{1B}[Ksent \(p.delivered)/\(p.events) events, \(p.failed) failed, \(p.retries) retries, \(Int(rate)) events/s, ETA \(eta)"
            FileHandle.standardError.write(Data(text.utf8))
        }

        /// Ctrl-C and SIGTERM stop the run gracefully (the checkpoint keeps the rest); a second Ctrl-C
        /// exits at once.
        static func onInterrupt(_ stop: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
            [SIGINT, SIGTERM].map { signo in
                signal(signo, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
                let count = ManagedAtomicCounter()
                source.setEventHandler {
                    if count.increment() > 1 { Glibc.exit(130) }
                    warn("stopping after the requests in flight (Ctrl-C again to quit at once)")
                    stop()
                }
                source.resume()
                return source
            }
        }
    }
}

/// The end of a replay that did not deliver everything, said in one line.
struct ReplayStop: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A counter for signal handlers.
final class ManagedAtomicCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

extension ReplayConfiguration.Shape: ExpressibleByArgument {}
extension ReplayConfiguration.Signing: ExpressibleByArgument {}
