import AsyncHTTPClient
import Foundation
import HooklogStore
import Testing

/// Whether this process may mount a size-limited tmpfs (root, outside a restrictive sandbox).
let canMountTmpfs: Bool = {
    let dir = tempPath()
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    guard (try? shell("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir)) == 0 else { return false }
    _ = try? shell("umount", dir)
    return true
}()

@discardableResult
func shell(_ arguments: String...) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

@Suite(.serialized) struct DiskFullTests {
    @Test(
        "a full disk answers 503 with nothing half-written, and ingest recovers by itself once space returns",
        .enabled(if: canMountTmpfs, "needs root to mount a size-limited tmpfs"))
    func diskFull() async throws {
        let mountPoint = tempPath()
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(try shell("mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mountPoint) == 0)
        defer {
            _ = try? shell("umount", "-l", mountPoint)
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        let dir = mountPoint + "/data"
        let serve = try await ServeProcess(data: dir)
        let url = try #require(serve.url("o2vend"))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        var rng = SystemRandomNumberGenerator()
        var acked: [String] = []
        var refusals = 0
        var n = 0
        // Incompressible payloads until the disk is full (4 MB are preallocated at a time: the second
        // chunk does not fit in 6 MB).
        while refusals == 0 && n < 5_000 {
            n += 1
            let filler = Data((0..<3000).map { _ in UInt8.random(in: 0...255, using: &rng) }).base64EncodedString()
            let id = "full-\(n)-\(UInt64.random(in: 0...UInt64.max))"
            let body =
                "{\"Id\":\"\(id)\",\"Event\":\"Order.Create\",\"Attempt\":1,\"Data\":{\"Id\":\(n),\"Note\":\"\(filler)\(id)\"}}"
            let (status, text) = try await post(client, url, Array(body.utf8))
            if status == 200 {
                acked.append(id)
            } else {
                #expect(status == 503, "\(text)")
                #expect(text.contains("retry"))
                refusals += 1
            }
        }
        #expect(refusals == 1, "the disk filled up")
        #expect(!acked.isEmpty)
        // Still serving: another process reads every acknowledged event, nothing else.
        let ids = try CLI.run(["query", "--data", dir, "--format", "ndjson"]).stdout.split(separator: "\n").count
        #expect(ids == acked.count)

        // Space returns: the next request is stored without a restart.
        #expect(try shell("mount", "-o", "remount,size=64m", mountPoint) == 0)
        let body = "{\"Id\":\"after\",\"Event\":\"Order.Create\",\"Attempt\":1,\"Data\":{\"Id\":1}}"
        let (status, _) = try await post(client, url, Array(body.utf8))
        #expect(status == 200)
        try await client.shutdown()
        #expect(await serve.terminate() == 0)
        let stored = try ArchiveReader(directory: dir).snapshot().events().compactMap(\.id)
        #expect(stored == acked + ["after"])
        let check = try CLI.run(["check", "--data", dir])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }
}
