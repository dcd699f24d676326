import Foundation
import Testing

@testable import HooklogStore

/// Inputs with which the fuzz-segment target (fuzz/, `fuzz/run.sh`) crashed the store, minimised and kept
/// as they were found: the files of a data directory's `log/`, base64. Each is read the way the target
/// reads it — a snapshot and a full scan, `check`, `check --repair`, a snapshot and a scan again — which
/// must not trap; and the file at fault must be refused with a clean `corrupt` error.
@Suite struct FuzzRegressionTests {
    /// Writes `files` (name → base64) into a new data directory's `log/`.
    static func directory(_ files: [String: String]) -> TempDirectory {
        let dir = TempDirectory()
        try! FileManager.default.createDirectory(atPath: dir.logDirectory, withIntermediateDirectories: true)
        for (name, base64) in files { write(Array(Data(base64Encoded: base64)!), to: dir.logDirectory + "/" + name) }
        return dir
    }

    /// Reads the archive as fuzz-segment does; returns what `check` reported, and `check --repair`.
    @discardableResult
    static func readAsTheFuzzerDoes(
        _ dir: TempDirectory
    ) throws -> (check: ArchiveCheck.Report, repair: ArchiveCheck.Report) {
        func scan() throws {
            let snapshot = try ArchiveReader(directory: dir.path).snapshot()
            try snapshot.forEachView(matching: EventFilter(), onDamage: { _ in }) { e in
                var line: [UInt8] = []
                e.appendNDJSON(to: &line)
                return true
            }
        }
        try scan()
        let check = try ArchiveCheck.run(directory: dir.path, repair: false)
        let repair = try ArchiveCheck.run(directory: dir.path, repair: true)
        try scan()
        return (check, repair)
    }

    /// The index at `name` is refused as corrupt, with a message naming it.
    static func expectRefused(_ dir: TempDirectory, index name: String, log: String, _ words: String) {
        let path = dir.logDirectory + "/" + name
        // The writer `check --repair` opens removes an index of its active segment that does not
        // describe the log as recovered: gone is as good as refused.
        let active = (try? FileManager.default.contentsOfDirectory(atPath: dir.logDirectory))?.filter {
            $0.hasSuffix(".log")
        }.max()
        if active == log, !FileManager.default.fileExists(atPath: path) { return }
        let error = #expect(throws: StoreError.self) {
            _ = try IndexFile(path: path, segmentPath: dir.logDirectory + "/" + log)
        }
        #expect(error?.code == .corrupt)
        #expect(
            error?.message.contains(path) == true && error?.message.contains(words) == true,
            "\(String(describing: error))")
    }

    // A checkpoint index (checksums valid) whose directory holds offsets and counts past `Int.max`:
    // `Int(UInt64)` trapped in `IndexFile.init` (the directory slot), on the reader's second snapshot,
    // after repair had given the torn segment a header. Fixed: every directory slot must fit the body.
    @Test func indexDirectorySlotBeyondInt() throws {
        let dir = Self.directory([
            "00000000000000000001.log": "SEtMT0dTRUcBZWQifQ==",
            "00000000000000000001.idx":
                "SEtMT0dJRFgBAEAAAAAAAAEAAAAAAAAAAABjaGVzIgFkaW52b2ljDg0AAAAAAAAAZAAAAAAAAAB0LmNVAowa+GUBJOmZVHNhZmUBJOmZVJlUc2FmZQEk6ZlUY3QuY1Vuc2FmZQEk6ZlUc2FmZWZlASTpmVRzYWZlASTpmVQk6ZlUY3QuY1Vuc2FmZQEk6ZlUc2FmZWZlASTpmVRzYWZlAQ3mcaU=",
        ])
        try Self.readAsTheFuzzerDoes(dir)
        Self.expectRefused(
            dir, index: "00000000000000000001.idx", log: "00000000000000000001.log", "sections out of bounds")
    }

    // A checkpoint index (checksums valid) whose names section gives a name an event count past `Int.max`
    // (a 10-byte varint): `Int(UInt64)` trapped in `IndexFile.init` on the first snapshot. Found in a
    // long fuzz-segment run. Fixed: a count past what a segment can hold (`UInt32.max`) makes
    // the names section malformed, and the index is refused and rebuilt.
    @Test func indexNameCountBeyondInt() throws {
        let dir = Self.directory([
            "00000000000000000001.log":
                "SEtMT0dTRUcBAED/////AAEAAAAAAAAA5/vo1vBgBgQAAP//////////AAAAAAAAAAAAAAAAAAAAAAAAERg94iJnSAAjLWtIAPACU3RvY2tUcmFja2luZ0lzRW7RAQV/AEFWYXJpAgEAsgBTXX2iAQpyARIiyAAfInEBDlBhNjYifQ==",
            "00000000000000000001.idx":
                "SEtMT0dJRFgBAEAAAAAAAAEAAAAAAAAAQrPp1vBgBgAHAAAAAAAAAIIAAAAAAAAAzwIAAAAAAAAAAAAA2g70s2AAAAAAAAAAAwAAAAAAAAAIAQAAAAAAABoAAAAAAAAAQAIAAAAAAAAmAAAAAAAAAGgCAAAAAAAAAQAAAAAAAABwAgAAAAAAAAYAAAAAAAAAyAIAAAAAAAAAAAAAAAAAAEAAAAAAAAAAQAAAAAAAAAABAAAAAAAAAAEAAAB/AwAA1AUAAAEAAACyA+nW8GAGALID6dbwYAYA7wMAAAAAAADvAwAAAAAAAAIAAAAAAAAAAwAAAO0AAACoAgAAAQAAADc36dbwYAYAogAAAgAAAAYCAACoAgAAAQAAABE46dbwYAYAETjp1vBgBgDb4pPeLKozAgAAAAAguMvKk290AgEAAABW/JOkv9oyBgIAAAA4b+gZnNL2DwMAAACnVg3IIbTsKgQAAABYvNPBqKkzOgUAAAAbilTzurvLPAYAAACWSFv3FixjPQcAAAC+v9M4ThwUQAgAAAB3CKtsR7Y1VAkAAAAIGYtzDeSGVg4AAAApNlQCwEviYBIAAACDzQOwhZ61hxMAAAAjEBHv6b3KixQAAAAr8o+B/NFmlxUAAAA1QOuM/p0HnxYAAAAfiHsKGQUoqRcAAAD1OJQxgoSlrRgAAAArUwVxOZI2rxkAAAAoxLlY0ny4rwEAAAAAAAAsrINNsBsAAADNlvgLe6jWyiEAAACAxRyd/FX+2yIAAABCO3eTKIId5yMAAABrfrWliqvJ7yQAAABN2WCbmu0N/SUAAAAFBAMCAAUAAQIAAQEBAQEBAQEDAQMEBQQFBQAAAQEBAQECBQAAAQAAzDPGGwP+P+QBBGFjbWUGAgZvMnZlbmQBAgpvcmRlcnNwYWNlBQMOUHJvZObm5ubm5ubm5ubm5ubm5ubm5uZ1Y3Quc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3NVbml0ZWQgS2luZ2RvbSIAAAAAAABf+DC/",
        ])
        try Self.readAsTheFuzzerDoes(dir)
        Self.expectRefused(
            dir, index: "00000000000000000001.idx", log: "00000000000000000001.log", "names section is malformed")
    }

    // Directory slots below `Int.max` whose sum overflowed (`framesOffset + frameCount * 56`).
    @Test func indexSectionBoundsOverflow() throws {
        let dir = Self.directory([
            "00000000000000000001.log": "SEtMT0dTRUcB",
            "00000000000000000001.idx":
                "SEtMT0dJRFgBAEAAAAAAFgEAAAAAAAAAc79lhw/ubwEAWu0AAAAuYwkAAAAAAAAAZAAAAAAAAABkd8BgU1CswmVkAXfAYFEBd8BgUWVhdGVkAXfAYFF0ZGVkAQMPcHJvZHVjdC5jcmVhdGVgUW9kdWN3wGBRcmVhdGVkAXfAYFFjcmVhdGVkAXfAYFFyZWFlZHfAYFFlYXRlZAF3wGBRAYZ4Z0s=",
        ])
        try Self.readAsTheFuzzerDoes(dir)
        Self.expectRefused(
            dir, index: "00000000000000000001.idx", log: "00000000000000000001.log", "sections out of bounds")
    }

    // Checkpoint indexes whose frame tables describe no log (offsets out of order, past `Int.max`), with
    // a damage section that starts before the names section. `IndexFile.init` accepted them, and
    // `BlockReader.decode` computed the read length `Int(end - start)`: an overflow (first input), a value
    // past `Int.max` (second). Fixed by the same checks: the sections must be in order (these two are now
    // refused there), and the frame table must fit the log (`framesFit`, next test).
    @Test func indexFrameTableOutsideItsLog() throws {
        let cases: [(String, [String: String])] = [
            (
                "02464646574804369408",
                [
                    "02464646574804369408.log": "SEtMT0dTRUcBAEAAAAAAAAAAGWQALzQifQ==",
                    "02464646574804369408.idx":
                        "SEtMT0dJRFgBAEAAAC5wZAAAGWQALzQiB3RlZAG2YC7xAAAAAAAH1xkAAAAAAAAAZAAAAAAAAAB0ZWQBGMQmKGVjb21wcmVzc3VwZGF0ZRl4tgAAGXYH12QBtmAucmVjb21wcmVzc3VwZGF0ZRl4tgAAGXYH13N1cGRhdGUZeLYAABl2B9dkAbZgLnJlY29tcHJlc3N1cGRhdGUZeLYAAFnKac8=",
                ]
            ),
            (
                "00000000000000000001",
                [
                    "00000000000000000001.log": "SEtMT0dTRUenCwAAAAAAAAF9",
                    "00000000000000000001.idx":
                        "SEtMT0dJRFgBAEAAAAAAAAEAAAAAAAAAgAIAAACILnRtcAAAAAQAABIAAAAAAAAAZAAAAAAAAAAAABwAAZDRmxrqHAAAAC3WZD37krv7krv7cgAAAC3WZD37krv7cgAALdZkPfuSu/ty1mQ9+5K7+3IA1BrqHAAAAC3WZD37krv7cgAALdZkPfuSu/tyAAAALdZkPfuSu/tyAAAt1mQ9+xfPfFs=",
                ]
            ),
        ]
        for (stem, files) in cases {
            let dir = Self.directory(files)
            try Self.readAsTheFuzzerDoes(dir)
            Self.expectRefused(dir, index: stem + ".idx", log: stem + ".log", "sections out of bounds")
        }
    }

    // The frame table check on its own: a real sealed segment's index with its second frame moved past the
    // end of the log (checksums made right again). Before `framesFit`, a reader trapped computing that
    // frame's end (`offset + length`); now the frame table is refused when first read (the frames of the
    // index rebuilt from the log serve), `check` reports it, and repair rewrites it.
    @Test func indexFrameTablePastItsLog() async throws {
        let dir = TempDirectory()
        var options = smallOptions(segmentSize: 4 << 10, blockSize: 1 << 10)
        options.recompressSealed = false
        options.durable = false
        try await append((0..<30).map { orderEvents(order: $0, count: 2, padding: 40) }, to: dir, options: options)
        let events = try ArchiveReader(directory: dir.path).snapshot().eventCount
        let index = try #require(dir.indexFiles().first)
        patchIndexBody(index) { bytes, body in
            let second = body + Int(bytes.loadU64(at: body)) + IndexFile.frameEntrySize
            for i in 0..<8 { bytes[second + i] = i == 0 ? 0xF0 : 0xFF }  // its offset: 2^64 - 16 (its end overflows)
        }

        // The frame table is read on first use (version 2): the file opens, its frames are refused then,
        // and the frames of the index rebuilt from the log serve instead.
        let opened = try IndexFile(path: index, segmentPath: String(index.dropLast(4)) + ".log")
        #expect(opened.framesProblem() == "its frame table does not fit its log")
        #expect(
            IndexFile.framesFit(
                opened.frames, baseSeq: opened.baseSeq, endSeq: opened.endSeq, logLength: opened.logLength))
        #expect(try ArchiveReader(directory: dir.path).snapshot().eventCount == events)
        let (check, repaired) = try Self.readAsTheFuzzerDoes(dir)
        #expect(check.problems == [index + ": its frame table does not fit its log"])
        #expect(repaired.isClean && repaired.events == events, "\(repaired.problems)")
    }

    // A segment (base 7) whose first bytes after the header are not a frame, then a valid block-starting
    // frame (checksum right) of seqs 5044031582654955528... Resync accepts any block start at or after the
    // expected seq; indexing it computed the ordinal `UInt32(seq - base)`, past `UInt32.max`: a trap in
    // `MemoryIndex.add` on the first snapshot. Fixed: a frame whose ordinals do not fit is refused like
    // one whose records do not parse ("frame does not decode"), and reported as damage. (Sealed here,
    // by an empty segment after it: the active segment ends at its first bad frame, no resync.)
    @Test func farSeqAfterDamage() throws {
        let dir = Self.directory([
            "00000000000000000100.log": "",
            "00000000000000000007.log":
                "SEtMT0dTRUcBAEAAAAAAAAcAAAAAAAAA2AAAAAAAAAAAAABRcI9JaIemxQBmX4ABozY5MTIuMDAiLCKzdt0itwEUW3RlZCJ9SExGMW5WWxnqAAAA3QEAAAgAAAAAAABGAgAAAAEAAADdjzgt8GAGAN2POC3wYAYA+1r9Ad2POC3wYAYABGFjbWUKb3JkZXJzcGFjZRdpbnZlbnRvcnlfbGV2ZWwudXBkYXRlZAUHQkxLLTAxMSAFJENigaC/3v0cO1p5mLfW9RQzUnGQr87tDCtKaYinxgCgAXsiZGF0YSI6eyJOAPYEIjp7ImF2YWlsYWJsZSI6MTA2LBAA9Q5fYWRqdXN0bWVudCI6MTAsIm9uX2hhbmQiOjExMQ4ADSYAY3NrdSI6Ip4AcSJ9fSwiZXZDAAx9AATLAD8ifdz/AB4SAf8ALzI03gAZLzE53gATLzI03gASLzI03gAOUHRlZCJ9SHRlZAGwXJul",
        ])
        let report = try Self.readAsTheFuzzerDoes(dir).check
        #expect(report.events == 0)
        #expect(
            report.problems.contains { $0.contains("at offset 72") && $0.contains("frame does not decode") },
            "\(report.problems)")
        #expect(try ArchiveReader(directory: dir.path).snapshot().eventCount == 0)
    }

    // A segment whose frame after a few unreadable bytes (checksum right) claims seqs from `UInt64.max`:
    // resync took it, and the scanner's `firstSeq + count` overflowed. Fixed: `FrameHeader.read` refuses
    // a header whose end seq does not fit a `UInt64` ("impossible frame header").
    @Test func frameSeqsPastUInt64() throws {
        let dir = Self.directory([
            "00000000000000000001.log":
                "SEtMT0dTRUcBAEAAAAAAAAEAAAAAAAAAkIzq1vBgBgkAAP/q39R7AAABAAAAAAAAAG1wb3NpdGlvbgYhokTfWmQifUhMRjHR0+1d6wAAAKkCAAD//////////wMAAAABAAAAZJnp1lvwYAYAdKHp1vBgBgD7PuFpbGFibGUiOjEwNiwQALBfbWFoX3N0bWVudBsA5Swib25faGFuIjoxMTEOAA0TLzQ15AASLzQ15AAOUHRlZCJ9GS8yN+QAEy8zMuQAEi8zMuQADlB0ZWQ15AAfNeQAGS80MOQAEy80NeQAEi80NeQADlB0ZWQifWGxyC8yN+QAEy8zMuQAEi8zMuQADlB0ZWQ15AAfNeQAGS80MOQAEy80NeQAEi80NeQADlB0ZWQifRkvMjfkABMvMzLkABIvMzLkAA5QdGVkNeQAHzXkABkvNDDkABMvNDXkABIvNDXkAA5QdGVkIn0="
        ])
        let (report, repaired) = try Self.readAsTheFuzzerDoes(dir)
        #expect(report.events == 0)
        #expect(report.problems.contains { $0.contains("torn tail") }, "\(report.problems)")
        #expect(repaired.isClean, "\(repaired.problems)")
        #expect(try ArchiveCheck.run(directory: dir.path, repair: false).isClean)
    }

    // An empty sealed segment named 0 (seqs start at 1, but the name parses), then segment 1: `check`
    // reported the gap as "the segment before ends at \(expected - 1)" with `expected` 0, an underflow.
    @Test func emptySegmentNamedZero() throws {
        let dir = Self.directory([
            "00000000000000000000.log":
                "SEtMT0dTRUcBAEAAAAAAAAAAAAAAAAAAAAAAAmFyeQFkaf////////8BbnZvdyJ9fSwiZXYBAAAAAAAALfTjRA==",
            "00000000000000000001.log": "SEtMT0dTRUc=",
        ])
        // Repair gives the torn segment 1 a header; checking it again then compared it with segment 0.
        let repaired = try Self.readAsTheFuzzerDoes(dir).repair
        #expect(
            repaired.problems.contains { $0.hasSuffix("starts at seq 1 but the segment before holds no event") },
            "\(repaired.problems)")
    }

    // A version 1 index (checksum right) whose key entry points its postings past the end of the
    // postings section: the new lazy page check built the range `start..<min(stop, end)` before testing
    // it, and trapped ("Range requires lowerBound <= upperBound") in `IndexFile.postings`. Found in a
    // fuzz-segment run, seconds after the index reader changed. Fixed: offsets that do not make
    // a range inside the postings mean no postings, as `decodePostings` already said.
    @Test func postingsOffsetsPastTheirSection() throws {
        let dir = Self.directory([
            "00000000000000000001.idx":
                "SEtMT0dJRFgBAEAAAAAAAAEAAAAAAAAAQrPp1vBgBgAHAAAAAAAAAEIHAAAAAAAAzAIAAAAAAAAAAAAA2mda8mAAAAAAAAAA"
                + "AwAAAAAAAAAIAQAAAAAAABoAAAAAAAAAQAIAAAAAAAAAAAAAAAAAAGgCAAAAAAAAAQAAAAAAAABwAgAAAAAAAAYAAAAAAAAA"
                + "yAIAAAAAAAAAAAAAAAAAAEAAAAAAAAAAQAAAAAAAAAABAAAAAAAAAAEAAAB/AwAA1AUAAAEAAACyA+nW8GAGALID6dbwYAYA"
                + "7wMAAAAAAADvAwAAAAAAAAIAAAAAAAAAAwAAAO0AAACoAgAAAQAAADc36dbwYAYAojfp1vBgBgAMBQAAAAAAAAwFAAAAAAAA"
                + "BQAAAAAAAAACAAAABgIAAKgCAAABAAAAETjp1vBgBgAROOnW8GAGANvik94sqjMCAAAAACC4y8qTb3QCAQAAAFb8k6S/2jIG"
                + "AgAAADhv6Bmc0vYPAwAAAKdWDcghtOwqBAAAAFi808GoqTM6BQAAABuKVPO6u8s8BgAAAJZIW/cWLGM9BwAAAL6/0zhOHBRA"
                + "CAAAAHcIq2xHtjVUCQAAAAgZi3MN5IZWDgAAACk2VALAS+JgEgAAAIPNA7CFnrWHEwAAACMQEe/pvcqLFAAAACvyj4H80WaX"
                + "FQAAADVA64z+nQefFgAAAB+IewoZBSipFwAAAPU4lDGChKWtGAAAACtTBXE5kjavGQAAACjEuVjSfLivGgAAAGW/vyisg02w"
                + "GwAAAM2W+At7qNbKIQAAAIDFHJ38Vf7bIgAAAEI7d5Mogh3nIwAAAGt+taWKq8nvJAAAAE3ZYJua7Q39JQAAAAUEAwIABQAB"
                + "AgABAQEBAQEBAQMBAwQFBAUFAAABAQEBAQIFAAABAADMM8YbA/4/5AEEYWNtZQYCBm8ydmVuZAECCm9yZGVyc3BhY2UFAw5Q"
                + "cm9kdWN0LkNyZWF0ZQEDF2ludmVudG9yeV9sZXZlbC51cGRhdGVkBAMNb3JkZXIuY3JlYXRlZAEnFsxx",
            "00000000000000000001.log":
                "SEtMT0dTRUcBAEAAAAAAAAEAAAAAAAAA5/vo1vBgBgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAtImNtkhMRjEsxDNr"
                + "fwMAANQFAAABAAAAAAAAAAEAAAABAAAAsgPp1vBgBgCyA+nW8GAGAPEM0guyA+nW8GAGAARhY21lCm9yZGVyc3BhY2UNCwDx"
                + "JC5jcmVhdGVkAwtvcl9rN20ycTl4YQRldi0wAQtjdV9wNHc4ejFybosLeyJkYXRhIjp7IjgAAAkA8ABiaWxsaW5nX2FkZHJl"
                + "c3MTAPEjY2l0eSI6IkJyaXN0b2wiLCJjb21wYW55X25hbWUiOiJIYXJib3VyIExhbmUgR2lmdHMkAFRudGFjdCQAARIAQHVu"
                + "dHJKAPMLR0IiLCJsaW5lMSI6IjQgUXVheSBTdHJlZXQYABIyMgCgcG9zdGFsX2NvZEMA4UJTMSA0REoiLCJzdGF0VQAffYwA"
                + "FAIPAfAIIjoiMjAyNi0xMC0wMlQwOToxNDowNVohAGJ1cnJlbmOcABFQEQCAc3RvbWVyX2k2AAc0MgEIHAAhbm+GAPkKUGxl"
                + "YXNlIGRlbGl2ZXIgYmVmb3JlIG5vby0AcHBvX251bWJlAbMiUE8tNzc4MSIsIjUAMnlfZNIABaAAlDYiLCJlbWFpbIkBEWWL"
                + "AaJkaXNwYXRjaGVzIgFkaW52b2ljDgACCAKyIjoiYnV5aW5nQGgNAcBsYW5lLmV4YW1wbGUzAfEFZ3Jvc3NfdG90YWwiOjI0"
                + "OC40LCLoAAcuAgFcAGR0ZXJuYWzoAGUiLCJuZXQ4AEQwNywi0gBDMjMxMX8AEF/AAUdzIjpbrQBEZCI6MGMApmxfM244dmQy"
                + "a3G/AAIgAAPCAdBTdG9uZXdhcmUgTXVn1QDwBm5faG9sZCI6ZmFsc2UsIm9wdGlvbuYAwENvbG91cjogU2FnZS4CImFpSQBR"
                + "cXVhbnS0AsUyNCwic2hpcHBpbmdBAPAAc2t1IjoiTVVHLVNUVy0whwE0c3Vi2ACwMTU2LCJ0YXhfYW2wAmIiOjMxLjISAAWh"
                + "AHJhbmRhcmQiFgARcroB/wYyMCwidW5pdF9wcmljZSI6Ni41fSwDAQaPOXgxcGU0bXYDAQT/AExpbmVuIFRlYSBUb3dlbAUB"
                + "CjBQYXSnAW86IEd1bGwGAQMvMTIGAQaqVEVBLVRXTC0wMwYBKjUxBQEvMTAFASHANC4yNX1dLCJwaG9uNQDAMDExNyA0OTYg"
                + "MDMydwFAcmVmZXgDABwApkhMLUFVVC0yNiKtAA+FBJYFsQA7dHlwHgEAJwAQdakBsG5ldzI1fV0sInBob241AMAwMTE3IDQ5"
                + "NiAwMzJ3AUByZWZleAMAHACmSEwtQVVULTI2Iq0AD4UElgWxADt0eXAeAQAnABB1qQGwbmV3In19LCJldmVSARYiqgVQdGVk"
                + "In1ITEYxcL7Ux+0AAACoAgAAAgAAAAAAAAADAAAAAQAAADc36dbwYAYAojfp1vBgBgD7PuABNzfp1vBgBgAEYWNtZQpvcmRl"
                + "cnNwYWNlF2ludmVudG9yeV9sZXZlbC51cGRhdGVkAwdCTEstMDAzBGV2LTEAnwF7ImRhdGEiOnsiMgAAEwDmYXZhaWxhYmxl"
                + "Ijo5OCwPAPAJX2FkanVzdG1lbnQiOjEwLCJvbl9oYW5kDQAVMw4ADSYAY3NrdSI6IoEAcSJ9fSwiZXYdAB8irgAEPyJ94eIA"
                + "JSAxNuIAPzIAoOIAFj8xMTHjABMvMTbjABIvMTbjABUfouMAIyAyOeMAHzPjABkvMjTjABMvMjnjABIvMjnjAA5QdGVkIn1I"
                + "TEYx9LHjeQYCAACoAgAABQAAAAAAAAACAAAAAQAAABE46dbwYAYAETjp1vBgBgD7PuEBETjp1vBgBgAEYWNtZQpvcmRlcnNw"
                + "YWNlF2ludmVudG9yeV9sZXZlbC51cGRhdGVkAwdCTEstMDQyBGV2LTQAoAF7ImRhdGEiOnsiMgAAEwD2AGF2YWlsYWJsZSI6"
                + "MTM3LBAA9Q5fYWRqdXN0bWVudCI6MTAsIm9uX2hhZCI6MTQyDgANJgBjc2t1IjoiggBxIn19LCJldh0AHyKvAARJIn3DA+MA"
                + "8VEGbzJ2ZW5kDlByb2R1Y3QuQ3JlYXRlAwbwDWlvblRpbWVVdGMiOiIyMDI2LTA5LTMwVDEwOjADADEuNTABAFNaIiwiRD4B"
                + "8BxCcmFuZE5hbWUiOiJTYWFuamgiLCJDYXRlZ29yeUlkcyI6WzM1NjBdLCJJJgEBrwDzBiwiSXNQdWJsaXNoZWQiOnRydWUs"
                + "IkQA8ApHZW9yZ2V0dGUgSyFydGkiLCJPbGRQcmljjAFUNjAwLCINABA0DQARU1oBBdcAtCIsIlNsdWciOiJnSAAjLWtIAPAC"
                + "U3RvY2tUcmFja2luZ0lzRW7RAQV/AEFWYXJpAgEAsgBTXX0sIkWiAQpyARIiyAAfInEBDlBhNjYifQ==",
            "00000000000000458752.log":
                "SEtMT0dTRUcBAEAAAAAAAAAABwAAAAAAAAB7OOnW8GAGAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAJnHutCP5SExGMQWE"
                + "7bg1AgAATQMAAAcAAAAAAAAAAQAAAAEAAABATOnW8GAGAEBM6dbwYAYA8zrLBkBM6dbwYAYABGFjbWUKb3JkZXJzcGFjZQ9w"
                + "cm9kdWN0LnVwZGFfYWRkcmVzcyI6eyJjaXR5IjoiQnJpc3RvbCIsInT+AEFiY2Fja28=",
        ])
        // Through the indexes, before repair rewrites them: every account, source, type and entity.
        let snapshot = try ArchiveReader(directory: dir.path).snapshot()
        var filters: [EventFilter] = [EventFilter(type: "*.*")]
        filters += snapshot.counts(of: .account).keys.map { EventFilter(account: $0) }
        filters += snapshot.counts(of: .source).keys.map { EventFilter(source: $0) }
        filters += snapshot.counts(of: .type).keys.map { EventFilter(type: $0) }
        var entities: Set<String> = []
        try snapshot.forEachView(matching: EventFilter(), onDamage: { _ in }) { e in
            if let entity = e.entity { entities.insert(entity) }
            return true
        }
        filters += entities.map { EventFilter(entity: $0) }
        for filter in filters { _ = try snapshot.events(matching: filter) }
        try Self.readAsTheFuzzerDoes(dir)
    }

    /// `framesFit` accepts what the writer writes: every index of a real archive, chained and
    /// recompressed frames alike, still opens.
    @Test func realIndexesStillFit() async throws {
        let dir = TempDirectory()
        var options = smallOptions(segmentSize: 4 << 10, blockSize: 1 << 10)
        options.durable = false
        let store = try ArchiveStore.open(directory: dir.path, options: options)
        for order in 0..<40 { _ = try await store.append(orderEvents(order: order, count: 3, padding: 40)) }
        store.close()
        let indexes = dir.indexFiles()
        #expect(indexes.count >= 2)
        for index in indexes {
            let log = String(index.dropLast(4)) + ".log"
            #expect(throws: Never.self) { _ = try IndexFile(path: index, segmentPath: log) }
        }
        #expect(try ArchiveCheck.run(directory: dir.path, repair: false).problems == [])
    }
}
