import ArgumentParser
import HooklogIngest
import HooklogSigning
import HooklogStore

extension Hooklog {
    /// Manages generic sources.
    struct SourceCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "source",
            abstract: "Describe any other webhook sender: where its type, entity, ID and refs are, how it signs.",
            discussion: """
                A location is a JSON pointer into each event (/type, /data/object/id) or header:NAME. \
                Deliveries come to POST /v1/hooks/SOURCE/TOKEN, with the token of an account added with \
                `hooklog account add NAME --source SOURCE`.

                Examples:
                  hooklog source add stripe --type-at /type --entity-at /data/object/id --id-at /id --verify stripe
                  hooklog source add shopify --type-at header:X-Shopify-Topic --entity-at /id \\
                      --id-at header:X-Shopify-Webhook-Id --verify hmac-sha256-base64:X-Shopify-Hmac-Sha256
                """,
            subcommands: [Add.self, List.self, Remove.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add a generic source.")

            @OptionGroup var options: DataOptions

            @Argument(help: "The source's name: the SOURCE of its URL and the `source` of its events.")
            var name: String

            @Option(help: ArgumentHelp("Where each event's type is (required).", valueName: "P"))
            var typeAt: String

            @Option(help: ArgumentHelp("Where the ID of the object the event is about is.", valueName: "P"))
            var entityAt: String

            @Option(
                help: ArgumentHelp(
                    "Where the sender's event ID is (redeliveries are recognised by it).", valueName: "P"))
            var idAt: String?

            @Option(
                help: ArgumentHelp("Where other searchable IDs are: a value or an array (repeatable).", valueName: "P"))
            var refsAt: [String] = []

            @Option(
                help: ArgumentHelp(
                    "The array of events inside the body (default: the body is one event, or an array).", valueName: "P"
                ))
            var eventsAt: String?

            @Option(
                help: ArgumentHelp(
                    "none, hmac-sha256-hex:HEADER, hmac-sha256-base64:HEADER, standard-webhooks or stripe.",
                    valueName: "SCHEME"))
            var verify = "none"

            @Option(
                help: ArgumentHelp(
                    "How far a signed timestamp may be from now (standard-webhooks, stripe).", valueName: "DURATION"))
            var tolerance = "5m"

            func validate() throws {
                guard WebhookSignature(argument: verify) != nil else {
                    throw ValidationError(
                        "--verify '\(verify)' is not one of none, hmac-sha256-hex:HEADER, hmac-sha256-base64:HEADER, standard-webhooks, stripe"
                    )
                }
                guard RFC3339.parseDuration(tolerance) != nil else {
                    throw ValidationError("--tolerance '\(tolerance)' is not a duration of at most 100 years (30s, 5m)")
                }
            }

            func run() throws {
                guard let scheme = WebhookSignature(argument: verify) else {
                    fail(
                        IngestConfigError(
                            "--verify '\(verify)' is not one of none, hmac-sha256-hex:HEADER, hmac-sha256-base64:HEADER, standard-webhooks, stripe"
                        ))
                }
                guard let micros = RFC3339.parseDuration(tolerance) else {
                    fail(
                        IngestConfigError("--tolerance '\(tolerance)' is not a duration of at most 100 years (30s, 5m)")
                    )
                }
                let source = GenericSource(
                    name: name, typeAt: typeAt, entityAt: entityAt, idAt: idAt, refsAt: refsAt, eventsAt: eventsAt,
                    verify: scheme,
                    toleranceSeconds: micros / 1_000_000)
                do {
                    try source.validate()
                } catch { fail(IngestConfigError(error.message)) }
                let name = self.name
                do {
                    try AccountFile(directory: options.directory).update {
                        (book: inout AccountBook) throws(IngestConfigError) in
                        guard Account.isValidName(name), !AccountBook.builtInSources.contains(name),
                            name != Account.anySource
                        else {
                            throw IngestConfigError(
                                "'\(name)' cannot name a source: use 1-64 letters, digits, '.', '_' or '-', other than orderspace and o2vend"
                            )
                        }
                        guard book.source(named: name) == nil else {
                            throw IngestConfigError(
                                "source '\(name)' exists; remove it first with 'hooklog source remove \(name)'")
                        }
                        book.sources.append(source)
                    }
                } catch { fail(error) }
                print("source '\(name)' added: deliveries go to POST /v1/hooks/\(name)/TOKEN")
                print("next: hooklog account add NAME --source \(name)\(scheme == .none ? "" : " --secret-file FILE")")
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the generic sources.")

            @OptionGroup var options: DataOptions

            func run() throws {
                let book: AccountBook
                do { book = try AccountFile(directory: options.directory).load() } catch { fail(error) }
                if book.sources.isEmpty {
                    print(
                        "no generic sources; orderspace and o2vend are built in. Add one with `hooklog source add NAME --type-at P --entity-at P`"
                    )
                    return
                }
                for s in book.sources {
                    var parts = ["type-at \(s.typeAt)", "entity-at \(s.entityAt)"]
                    if let idAt = s.idAt { parts.append("id-at \(idAt)") }
                    parts += s.refsAt.map { "refs-at \($0)" }
                    if let eventsAt = s.eventsAt { parts.append("events-at \(eventsAt)") }
                    parts.append("verify \(s.verify.argument)")
                    print("\(s.name): " + parts.joined(separator: ", "))
                }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove a generic source no account uses; its events stay.")

            @OptionGroup var options: DataOptions

            @Argument(help: "The source.")
            var name: String

            func run() throws {
                let name = self.name
                do {
                    try AccountFile(directory: options.directory).update {
                        (book: inout AccountBook) throws(IngestConfigError) in
                        guard book.source(named: name) != nil else {
                            throw IngestConfigError("no source named '\(name)'; `hooklog source list` shows them")
                        }
                        let users = book.accounts.filter { $0.source == name }.map(\.name)
                        guard users.isEmpty else {
                            throw IngestConfigError(
                                "source '\(name)' is used by account(s) \(users.joined(separator: ", ")); remove them first"
                            )
                        }
                        book.sources.removeAll { $0.name == name }
                    }
                } catch { fail(error) }
                print("source '\(name)' removed; its events stay in the archive")
            }
        }
    }

    /// Prints the admin token.
    struct AdminTokenCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "admin-token",
            abstract: "Print the admin token for GET /v1/events (on a line 'token: TOKEN'), making one if needed.",
            discussion: "curl -H \"Authorization: Bearer $TOKEN\" 'http://127.0.0.1:8080/v1/events?ref=or_123'")

        @OptionGroup var options: DataOptions

        @Flag(help: "Make a new token; the old one is refused from now on.")
        var rotate = false

        func run() throws {
            do {
                let result = try AdminToken.ensure(directory: options.directory, rotate: rotate)
                print("token: \(result.token)")
            } catch { fail(error) }
        }
    }
}
