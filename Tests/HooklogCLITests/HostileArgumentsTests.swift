import AsyncHTTPClient
import Crypto
import Foundation
import HooklogStore
import Testing

/// Command lines and data built to reach a trap, leak a secret, drive a terminal or hide a failed write.
@Suite(.serialized) struct HostileArgumentsTests {
    /// Each multiplied past `Int64` and trapped (SIGILL) before; each is now bad usage: one line, status 2.
    @Test func versionIsPrinted() throws {
        let run = try CLI.run(["--version"])
        #expect(run.status == 0 && run.stdout.hasPrefix("0."), "\(run.stdout) \(run.stderr)")
    }

    @Test func overflowingDurationsAndSizesAreBadUsage() throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cases: [([String], String)] = [
            (["query", "--data", dir, "--since", "999999999999d"], "--since"),
            (["query", "--data", dir, "--until", "9223372036854775807s", "--format", "table"], "--until"),
            (["serve", "--data", dir, "--dedupe-window", "999999999999d"], "--dedupe-window"),
            (["serve", "--data", dir, "--body-timeout", "999999999999w"], "--body-timeout"),
            (["serve", "--data", dir, "--retain-for", "999999999999d"], "--retain-for"),
            (["serve", "--data", dir, "--max-body", "99999999999999g"], "--max-body"),
            (["serve", "--data", dir, "--retain-bytes", "99999999999999g"], "--retain-bytes"),
            (["serve", "--data", dir, "--segment-size", "99999999999999g"], "--segment-size"),
            (["serve", "--data", dir, "--segment-size", "1k"], "--segment-size"),
            (["serve", "--data", dir, "--max-connections", "9223372036854775807"], "--max-connections"),
            (
                [
                    "source", "add", "s", "--data", dir, "--type-at", "/type", "--entity-at", "/id", "--tolerance",
                    "999999999999d",
                ], "--tolerance"
            ),
            (["replay", "--data", dir, "--to", "http://127.0.0.1:9/", "--timeout", "999999999999d"], "--timeout"),
        ]
        for (arguments, flag) in cases {
            for environment in [[:], ["HOOKLOG_FULL_PARSER": "1"]] {
                let run = try CLI.run(arguments, environment: environment)
                #expect(run.status == 2, "\(arguments): \(run.status) \(run.stderr)")
                #expect(
                    run.stderr.contains(flag) && run.stderr.split(separator: "\n").count == 1,
                    "\(arguments): \(run.stderr)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/accounts.json"))
    }

    /// `account add` takes the secret from a file or the environment, where `ps` does not show it; a
    /// delivery signed with it is accepted by a running `serve`.
    @Test func secretsFromAFileOrTheEnvironment() async throws {
        let dir = tempPath()
        let secretFile = tempPath() + ".secret"
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: secretFile)
        }
        let source = try CLI.run([
            "source", "add", "signed", "--data", dir, "--type-at", "/type", "--entity-at", "/id", "--verify",
            "hmac-sha256-hex:X-Sig",
        ])
        #expect(source.status == 0, "\(source.stderr)")
        _ = FileManager.default.createFile(atPath: secretFile, contents: Data("file-secret\n".utf8))
        let fromFile = try CLI.run([
            "account", "add", "f", "--data", dir, "--source", "signed", "--secret-file", secretFile,
        ])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        let fromEnv = try CLI.run(
            ["account", "add", "e", "--data", dir, "--source", "signed"], environment: ["HOOKLOG_SECRET": "env-secret"])
        #expect(fromEnv.status == 0, "\(fromEnv.stderr)")
        let missing = try CLI.run([
            "account", "add", "m", "--data", dir, "--source", "signed", "--secret-file", dir + "/nope",
        ])
        #expect(missing.status == 1 && missing.stderr.contains("secret file"))
        let both = try CLI.run([
            "account", "add", "b", "--data", dir, "--source", "signed", "--secret", "x", "--secret-file", secretFile,
        ])
        #expect(both.status == 2 && both.stderr.split(separator: "\n").count == 1)
        let none = try CLI.run(
            ["account", "add", "n", "--data", dir, "--source", "signed"], environment: ["HOOKLOG_SECRET": ""])
        #expect(none.status == 1 && none.stderr.contains("--secret-file"))

        let serve = try await ServeProcess(data: dir)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let body = Array(#"{"type":"t.created","id":"e1"}"#.utf8)
        func mac(_ key: String) -> String {
            HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(key.utf8))).map {
                String(format: "%02x", $0)
            }.joined()
        }
        for (output, key) in [(fromFile, "file-secret"), (fromEnv, "env-secret")] {
            // Added before this serve ran: the URL's path, at the address serve listens on.
            let path = output.stdout.split(separator: "\n").first { $0.hasPrefix("url: ") }?.split(
                separator: "/", maxSplits: 3, omittingEmptySubsequences: false
            ).last
            let url = serve.base + "/" + (path ?? "")
            let good = try await post(client, url, body, headers: [("X-Sig", mac(key))])
            #expect(good.0 == 200, "\(url): \(good)")
            let bad = try await post(client, url, body, headers: [("X-Sig", mac(key + "\n"))])
            #expect(bad.0 == 401, "\(url): \(bad)")
        }
        try await client.shutdown()
        #expect(await serve.terminate() == 0)
    }

    /// The URLs `account add` prints have the port `serve` last listened on; a wildcard host is never
    /// printed as a URL's host; a secret for a source that verifies nothing is warned about.
    @Test func printedURLsAreReachable() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let serve = try await ServeProcess(data: dir, extra: ["--host", "0.0.0.0"])
        // The data directory serve made holds every payload and the secrets: its owner's only.
        let mode = (try FileManager.default.attributesOfItem(atPath: dir)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o700)
        #expect(serve.lines.contains { $0.contains("0.0.0.0 is every interface") }, "\(serve.lines)")
        let orderspace = try #require(serve.url("orderspace"))
        #expect(!orderspace.contains("0.0.0.0"), "\(orderspace)")
        let port = try #require(serve.base.split(separator: ":").last)
        #expect(await serve.terminate() == 0)
        #expect(
            try CLI.run(["source", "add", "open", "--data", dir, "--type-at", "/type", "--entity-at", "/id"]).status
                == 0)
        let added = try CLI.run(["account", "add", "o", "--data", dir, "--source", "open", "--secret", "unused"])
        #expect(added.status == 0)
        #expect(added.stderr.contains("warning") && added.stderr.contains("verifies nothing"), "\(added.stderr)")
        let url = try #require(added.stdout.split(separator: "\n").first { $0.hasPrefix("url: ") })
        #expect(url.contains(":\(port)/v1/hooks/open/") && !url.contains("0.0.0.0"), "\(url)")
        let given = try CLI.run([
            "account", "add", "g", "--data", dir, "--source", "open", "--base-url", "https://hooks.example.com/",
        ])
        #expect(given.stdout.contains("url: https://hooks.example.com/v1/hooks/open/") && given.stderr.isEmpty)
    }

    /// Sender-controlled text in `--format table` is shown, not obeyed by the terminal.
    @Test func tableOutputEscapesControlCharacters() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ArchiveStore.open(directory: dir)
        _ = try await store.append([
            NewEvent(
                account: "a", source: "s", type: "evil\u{1B}]0;owned\u{7}\u{1B}[2J", entity: "id\r\u{9B}31m",
                refs: ["\u{202E}fdp.exe", "back\\slash"], id: nil, payload: Array("{}".utf8))
        ])
        store.close()
        for environment in [[:], ["HOOKLOG_FULL_PARSER": "1"]] {
            let table = try CLI.run(["query", "--data", dir, "--format", "table"], environment: environment)
            #expect(table.status == 0)
            let bytes = Array(table.stdout.utf8)
            #expect(
                !bytes.contains(0x1B) && !bytes.contains(0x0D) && !bytes.contains(0x07),
                "\(table.stdout.debugDescription)")
            #expect(!table.stdout.unicodeScalars.contains { $0.value == 0x9B || $0.value == 0x202E })
            #expect(table.stdout.contains(#"evil\u{1B}]0;owned\u{7}"#), "\(table.stdout)")
            #expect(table.stdout.contains(#"\u{202E}fdp.exe,back\\slash"#), "\(table.stdout)")
            let stats = try CLI.run(["stats", "--data", dir], environment: environment)
            #expect(
                stats.status == 0 && !stats.stdout.utf8.contains(0x1B)
                    && stats.stdout.contains(#"type evil\u{1B}]0;owned"#), "\(stats.stdout)")
            // ndjson and payload are for programs: JSON-escaped and as received, unchanged.
            let ndjson = try CLI.run(["query", "--data", dir], environment: environment)
            let object = try JSONSerialization.jsonObject(with: Data(ndjson.stdout.utf8)) as? [String: Any]
            #expect(
                object?["type"] as? String == "evil\u{1B}]0;owned\u{7}\u{1B}[2J" && !ndjson.stdout.utf8.contains(0x1B))
        }
    }

    /// `end - first + chunkEvents - 1` overflowed for a large `--chunk-events`.
    @Test func exportChunksOfAnySize() async throws {
        let dir = tempPath()
        let output = tempPath() + ".ndjson"
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: output)
        }
        let events = try await makeArchive(dir)
        for chunk in ["18446744073709551615", "9223372036854775808", "1"] {
            let run = try CLI.run(["export", "--data", dir, "--output", output, "--chunk-events", chunk])
            #expect(run.status == 0, "\(chunk): \(run.stderr)")
            let lines = String(decoding: FileManager.default.contents(atPath: output) ?? Data(), as: UTF8.self).split(
                separator: "\n")
            #expect(lines.count == events.count, "\(chunk)")
        }
    }

    /// A full disk is a failure, not a quiet exit 0 with a truncated file.
    @Test func aFailedWriteIsAnError() async throws {
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await makeArchive(dir)
        for format in ["ndjson", "table", "payload"] {
            for environment in [[:], ["HOOKLOG_FULL_PARSER": "1"]] {
                let run = try CLI.run(
                    ["query", "--data", dir, "--format", format], environment: environment, stdoutPath: "/dev/full")
                #expect(run.status == 1, "\(format): \(run.status) \(run.stderr)")
                #expect(
                    run.stderr.hasPrefix("hooklog: cannot write the output: ")
                        && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
            }
        }
        // No match writes nothing, and so fails nothing.
        let none = try CLI.run(["query", "--data", dir, "--entity", "nothing"], stdoutPath: "/dev/full")
        #expect(none.status == 0, "\(none.stderr)")
    }
}
