import ArgumentParser
import Foundation
import HooklogIngest
import HooklogSigning
import HooklogStore

extension Hooklog {
    /// Manages who may deliver webhooks.
    struct AccountCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "account",
            abstract: "Add, list, rotate and remove the accounts that may deliver webhooks.",
            discussion: """
                An account has a token (in its webhook URL) and delivers as one source. Tokens are stored \
                hashed and shown once: keep the printed URL. Changes take effect on a running `serve` at once.

                Examples:
                  hooklog account add shop --source orderspace --secret "$ORDERSPACE_SIGNING_KEY"
                  hooklog account add store2 --source o2vend --secret s3cret --header 'X-Tenant: acme'
                  hooklog account rotate shop
                """,
            subcommands: [Add.self, List.self, Rotate.self, Remove.self])

        /// The base of the URLs printed for an account.
        struct URLOptions: ParsableArguments {
            @Option(
                help: ArgumentHelp(
                    "The server's address as senders reach it, for the printed webhook URL (default: where `serve` last listened, else http://127.0.0.1:8080).",
                    valueName: "URL"))
            var baseURL: String?

            /// `--base-url`, else the address the data directory's last `serve` recorded, else the default
            /// `serve` listens on.
            func base(directory: String) -> String {
                baseURL ?? ServeAddress.load(directory: directory) ?? "http://127.0.0.1:8080"
            }
        }

        static func webhookURL(base: String, source: String, token: String) -> String {
            let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
            switch source {
            case "orderspace", "o2vend": return "\(trimmed)/v1/\(source)/\(token)"
            case Account.anySource: return "\(trimmed)/v1/orderspace/\(token)"
            default: return "\(trimmed)/v1/hooks/\(source)/\(token)"
            }
        }

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Add an account; prints its token (on a line 'token: TOKEN') and webhook URL, once.")

            @OptionGroup var options: DataOptions
            @OptionGroup var url: URLOptions

            @Argument(help: "The account's name (letters, digits, '.', '_', '-'); stored with each of its events.")
            var name: String

            @Option(help: ArgumentHelp("orderspace, o2vend, or a generic source's name.", valueName: "SOURCE"))
            var source: String

            @Option(
                help: """
                    Orderspace: the signing key; X-Orderspace-Signature is then required. O2VEND: the subscription \
                    secret its deliveries carry. A generic source that verifies signatures: its HMAC secret. \
                    The command line shows it to every user of the machine (ps): prefer --secret-file or $HOOKLOG_SECRET.
                    """)
            var secret: String?

            @Option(
                help: ArgumentHelp(
                    "Read the secret from this file (one trailing newline dropped) instead of the command line.",
                    valueName: "PATH"))
            var secretFile: String?

            @Option(help: ArgumentHelp("O2VEND: the header carrying the secret.", valueName: "HEADER"))
            var secretHeader: String?

            @Option(
                name: .customLong("header"),
                help: ArgumentHelp(
                    "A header every delivery must carry with this value (repeatable).", valueName: "K: V"))
            var headers: [String] = []

            func validate() throws {
                if secret != nil && secretFile != nil {
                    throw ValidationError("give the secret once: --secret or --secret-file")
                }
            }

            func run() throws {
                let required: [Account.RequiredHeader]
                let secret: String?
                do {
                    required = try headers.map(AccountCommand.requiredHeader)
                    secret = try AccountCommand.secret(given: self.secret, file: secretFile)
                } catch { fail(error) }
                let token = Token.generate()
                let name = self.name, source = self.source, secretHeader = self.secretHeader
                var unchecked = false
                do {
                    try AccountFile(directory: options.directory).update {
                        (book: inout AccountBook) throws(IngestConfigError) in
                        guard Account.isValidName(name) else {
                            throw IngestConfigError(
                                "'\(name)' is not a valid account name: use 1-64 letters, digits, '.', '_' or '-'")
                        }
                        guard book.account(named: name) == nil else {
                            throw IngestConfigError(
                                "account '\(name)' exists; use 'hooklog account rotate \(name)' for a new token")
                        }
                        var account = Account(
                            name: name, source: source, tokenHash: Token.hash(token), headers: required,
                            created: RFC3339.format(micros: RFC3339.nowMicros()))
                        switch source {
                        case "o2vend":
                            account.secretHash = secret.map(Token.hash)
                            account.secretHeader = secretHeader
                        case "orderspace":
                            guard secretHeader == nil else {
                                throw IngestConfigError(
                                    "--secret-header is for O2VEND accounts; Orderspace signs in X-Orderspace-Signature"
                                )
                            }
                            account.signingKey = secret
                        default:
                            guard let generic = book.source(named: source) else {
                                throw IngestConfigError(
                                    "no source named '\(source)': use orderspace, o2vend, or add it first with 'hooklog source add \(source) …'"
                                )
                            }
                            guard secretHeader == nil else {
                                throw IngestConfigError(
                                    "--secret-header is for O2VEND accounts; '\(source)' verifies with \(generic.verify.argument)"
                                )
                            }
                            if generic.verify != .none && secret == nil {
                                throw IngestConfigError(
                                    "source '\(source)' verifies signatures (\(generic.verify.argument)): give the account --secret-file, $HOOKLOG_SECRET or --secret"
                                )
                            }
                            unchecked = generic.verify == .none && secret != nil
                            account.signingKey = secret
                        }
                        book.accounts.append(account)
                    }
                } catch {
                    fail(error)
                }
                if unchecked {
                    warn(
                        "source '\(source)' verifies nothing (--verify none): the secret is kept but no delivery is checked against it; "
                            + "add the source again with --verify to check signatures")
                }
                print("account '\(name)' added for \(source); its token is shown only now:")
                print("token: \(token)")
                print(
                    "url: \(AccountCommand.webhookURL(base: url.base(directory: options.directory), source: source, token: token))"
                )
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List the accounts (never their tokens or secrets).")

            @OptionGroup var options: DataOptions

            func run() throws {
                let book: AccountBook
                do { book = try AccountFile(directory: options.directory).load() } catch { fail(error) }
                if book.accounts.isEmpty {
                    print(
                        "no accounts yet: `hooklog serve` creates 'default', or add one with `hooklog account add NAME --source SOURCE`"
                    )
                    return
                }
                func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(1, n - s.count)) }
                print(pad("NAME", 20) + pad("SOURCE", 14) + pad("CHECKS", 34) + "CREATED")
                for a in book.accounts {
                    var checks: [String] = []
                    if a.signingKey != nil { checks.append("signature") }
                    if a.secretHash != nil { checks.append("secret in \(a.secretHeader ?? "X-O2VEND-Secret")") }
                    checks += a.headers.map { "header \($0.name)" }
                    let source = a.source == Account.anySource ? "any" : a.source
                    print(
                        pad(a.name, 20) + pad(source, 14)
                            + pad(checks.isEmpty ? "token only" : checks.joined(separator: ", "), 34) + a.created)
                }
            }
        }

        struct Rotate: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "Give an account a new token (printed once, on a line 'token: TOKEN'); the old one stops working at once."
            )

            @OptionGroup var options: DataOptions
            @OptionGroup var url: URLOptions

            @Argument(help: "The account.")
            var name: String

            func run() throws {
                let token = Token.generate()
                let name = self.name
                let source: String
                do {
                    source = try AccountFile(directory: options.directory).update {
                        (book: inout AccountBook) throws(IngestConfigError) in
                        guard let i = book.accounts.firstIndex(where: { $0.name == name }) else {
                            throw IngestConfigError("no account named '\(name)'; `hooklog account list` shows them")
                        }
                        book.accounts[i].tokenHash = Token.hash(token)
                        return book.accounts[i].source
                    }
                } catch { fail(error) }
                print("account '\(name)' has a new token; the old one is refused from now on:")
                print("token: \(token)")
                print(
                    "url: \(AccountCommand.webhookURL(base: url.base(directory: options.directory), source: source, token: token))"
                )
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove an account: its token is refused from now on; its archived events stay.")

            @OptionGroup var options: DataOptions

            @Argument(help: "The account.")
            var name: String

            func run() throws {
                let name = self.name
                do {
                    try AccountFile(directory: options.directory).update {
                        (book: inout AccountBook) throws(IngestConfigError) in
                        guard book.account(named: name) != nil else {
                            throw IngestConfigError("no account named '\(name)'; `hooklog account list` shows them")
                        }
                        book.accounts.removeAll { $0.name == name }
                    }
                } catch { fail(error) }
                print("account '\(name)' removed; its events stay in the archive")
            }
        }

        /// The secret of `account add`: `--secret`, else the content of `--secret-file` (one trailing newline
        /// dropped, as `echo` and editors leave one), else `$HOOKLOG_SECRET`, else none. The command line is
        /// the last choice a user should make, because `ps` shows it to every user of the machine.
        static func secret(given: String?, file: String?) throws -> String? {
            if let given {
                guard !given.isEmpty else {
                    throw IngestConfigError("--secret is empty; give the secret, or leave the option out")
                }
                return given
            }
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw IngestConfigError("cannot read the secret file \(file): \(String(cString: strerror(errno)))")
                }
                var bytes = Array(data)
                if bytes.last == 0x0A {
                    bytes.removeLast()
                    if bytes.last == 0x0D { bytes.removeLast() }
                }
                guard !bytes.isEmpty else { throw IngestConfigError("the secret file \(file) is empty") }
                return String(decoding: bytes, as: UTF8.self)
            }
            if let env = getenv("HOOKLOG_SECRET"), let value = String(validatingCString: env), !value.isEmpty {
                return value
            }
            return nil
        }

        /// `K: V` as a requirement.
        static func requiredHeader(_ text: String) throws -> Account.RequiredHeader {
            guard let colon = text.firstIndex(of: ":") else {
                throw IngestConfigError("--header '\(text)' is not 'Name: value'")
            }
            let name = text[..<colon].trimmingCharacters(in: .whitespaces)
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, !name.contains(" ") else {
                throw IngestConfigError("--header '\(text)' is not 'Name: value'")
            }
            return Account.RequiredHeader(name: name, value: value)
        }
    }
}
