// libFuzzer target: segment (`.log`) and index (`.idx`) files, read through the store's public API.
//
// The input is a data directory's `log/` folder, concatenated: it is cut before every `HKLOGSEG` and
// `HKLOGIDX` (the magic that starts each file, docs/FORMAT.md). A `HKLOGSEG` piece is a segment named
// by the base seq in its header (`SegmentName`: 20 digits + `.log`); a `HKLOGIDX` piece is the index of
// the segment before it (the last segment is the active one; an index there is a clean-close
// checkpoint). Bytes before the first magic belong to the first file; an input without any magic is one
// segment, `00000000000000000001.log`. fuzz-seed writes real archives in exactly this form.
//
// Each input runs twice: as it is, then with every checksum recomputed (file headers, frames, the index
// body — or, version 2, its page checksums and page table — and the index header's base seq, log length
// and body length made to agree with its files),
// so that mutations get past the CRC32C checks into the decoders behind them. Each run:
//  - opens `ArchiveReader(directory:)`, takes `snapshot()`, reads its figures (counts, damage, times);
//  - `forEachView` over everything, touching every field, the payload and the NDJSON line, with and
//    without `onDamage`, forwards and in reverse;
//  - queries through the indexes (each type, account and source name the snapshot lists, entities and refs
//    seen in the scan, times and seqs) and checks that every event returned matches its filter;
//  - `event(seq:)` at the ends and middle;
//  - `ArchiveCheck.run(repair: false)`, then `repair: true` (opens the writer: recovery cuts torn tails and
//    rebuilds indexes), then a new reader and scan over the repaired directory.
// Errors are fine; a trap, a sanitizer report, a leak, a hang or a wrong answer is a finding.
//
// FUZZ_TMPDIR: where the scratch data directory goes (default /dev/shm, else /tmp).
// FUZZ_SEGMENT_KEEP=DIR: write the input's files (both runs) under DIR/raw and DIR/fixed and keep them,
// to turn a crash into a regression test.
import CLibFuzzer
import Foundation
import HooklogStore

private let magicSegment = Array("HKLOGSEG".utf8)
private let magicIndex = Array("HKLOGIDX".utf8)

private let scratch: String = {
    let env = ProcessInfo.processInfo.environment
    let root = env["FUZZ_TMPDIR"] ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
    return root + "/hooklog-fuzz-segment-\(getpid())"
}()

/// The entry point: libFuzzer's driver with its usual flags (see CLibFuzzer.h for why not its `main`).
@main
enum FuzzSegment {
    static func main() {
        var argc = CommandLine.argc
        var argv = Optional(CommandLine.unsafeArgv)
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data ?? UnsafePointer(bitPattern: 1)!, size) })
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let raw = files(of: input)
    let fixed = raw.map { fixup($0, in: raw) }
    if let keep = ProcessInfo.processInfo.environment["FUZZ_SEGMENT_KEEP"] {
        materialize(raw, in: keep + "/raw")
        materialize(fixed, in: keep + "/fixed")
    }
    exercise(raw)
    if fixed.map(\.bytes) != raw.map(\.bytes) { exercise(fixed) }
    return 0
}

// MARK: Input to files

struct File {
    var name: String
    var bytes: [UInt8]
    var isIndex: Bool
    var base: UInt64
}

private func pad(_ n: UInt64) -> String {
    let digits = String(n)
    return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
}

private func u64(_ b: [UInt8], _ at: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in (0..<8).reversed() { v = v << 8 | UInt64(b[at + i]) }
    return v
}

private func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
}

private func put(_ v: UInt64, _ b: inout [UInt8], _ at: Int, bytes: Int = 8) {
    for i in 0..<bytes { b[at + i] = UInt8(truncatingIfNeeded: v >> UInt64(8 * i)) }
}

/// Cuts the input before each file magic and names the pieces.
func files(of input: [UInt8]) -> [File] {
    var cuts: [Int] = []
    var i = 0
    while i + 8 <= input.count {
        if input[i] == 0x48, input[i..<(i + 8)].elementsEqual(magicSegment) || input[i..<(i + 8)].elementsEqual(magicIndex) {
            cuts.append(i)
            i += 8
        } else {
            i += 1
        }
    }
    if cuts.isEmpty { cuts = [0] }
    cuts[0] = 0  // bytes before the first magic belong to the first file
    var out: [File] = []
    var used: Set<String> = []
    var lastSegment: UInt64? = nil
    for (n, start) in cuts.enumerated() {
        let end = n + 1 < cuts.count ? cuts[n + 1] : input.count
        let bytes = Array(input[start..<end])
        let isIndex = bytes.starts(with: magicIndex)
        let headerBase = bytes.count >= 24 ? u64(bytes, 16) : nil
        let base: UInt64
        if isIndex {
            base = lastSegment ?? headerBase ?? 1
        } else {
            base = headerBase ?? (lastSegment.map { $0 &+ 1 } ?? 1)
            lastSegment = base
        }
        let name = pad(base) + (isIndex ? ".idx" : ".log")
        guard used.insert(name).inserted else { continue }
        out.append(File(name: name, bytes: bytes, isIndex: isIndex, base: base))
    }
    return out
}

/// The same file with its checksums recomputed (and an index's header made to agree with its log).
func fixup(_ file: File, in all: [File]) -> File {
    var b = file.bytes
    guard b.count >= 64 else { return file }
    if file.isIndex {
        let log = all.first { !$0.isIndex && $0.base == file.base }
        put(file.base, &b, 16)
        put(UInt64(log?.bytes.count ?? 0), &b, 40)
        put(UInt64(b.count - 64), &b, 48)
        if b[8] == 2 && b[9] == 0 {
            // Version 2: a page checksum table after the header, then the body to the end. Its page
            // count made to agree with the file's length, then every page's CRC and the table's.
            let fits = { (c: Int) in 72 + 4 * c <= b.count && (b.count - 72 - 4 * c + 4095) / 4096 == c }
            let stored = b.count >= 68 ? Int(u32(b, 64)) : -1
            if let count = fits(stored) ? stored : (0...max(0, (b.count - 72) / 4)).first(where: fits) {
                put(UInt64(count), &b, 64, bytes: 4)
                let body = 72 + 4 * count
                for page in 0..<count {
                    let start = body + page * 4096
                    put(UInt64(CRC32C.checksum(b[start..<min(b.count, start + 4096)])), &b, 68 + 4 * page, bytes: 4)
                }
                put(UInt64(CRC32C.checksum(b[64..<(body - 4)])), &b, body - 4, bytes: 4)
            }
        } else if b.count >= 68 {
            put(UInt64(CRC32C.checksum(b[64..<(b.count - 4)])), &b, b.count - 4, bytes: 4)
        }
    } else {
        var p = 64
        while p + 48 <= b.count {
            guard u32(b, p) == 0x3146_4C48 else {
                p += 1
                continue
            }
            let length = Int(u32(b, p + 8))
            guard b.count - p - 48 >= length else {
                p += 1
                continue
            }
            put(UInt64(CRC32C.checksum(b[(p + 8)..<(p + 48 + length)])), &b, p + 4, bytes: 4)
            p += 48 + length
        }
    }
    put(UInt64(CRC32C.checksum(b[0..<60])), &b, 60, bytes: 4)
    return File(name: file.name, bytes: b, isIndex: file.isIndex, base: file.base)
}

/// A fresh `DIR/log/` holding `files`.
private func materialize(_ files: [File], in directory: String) {
    let log = directory + "/log"
    try? FileManager.default.removeItem(atPath: directory)
    try! FileManager.default.createDirectory(atPath: log, withIntermediateDirectories: true)
    for f in files {
        guard FileManager.default.createFile(atPath: log + "/" + f.name, contents: Data(f.bytes)) else {
            fatalError("fuzz-segment: cannot write \(log)/\(f.name)")
        }
    }
}

/// CRC32C (Castagnoli, reflected 0x82F63B78), as docs/FORMAT.md specifies; the store's is internal.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

// MARK: Reading

private func fail(_ message: String) -> Never {
    fatalError("fuzz-segment: \(message)")
}

private func exercise(_ files: [File]) {
    materialize(files, in: scratch)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    read(scratch)
    _ = try? ArchiveCheck.run(directory: scratch, repair: false, progress: { _, _ in })
    if (try? ArchiveCheck.run(directory: scratch, repair: true)) != nil {
        read(scratch)
    }
}

private struct Seen {
    var events = 0
    var entities: [String] = []
    var refs: [String] = []
}

/// Touches every field of a view the way `query`, `export` and replay do.
private func touch(_ e: EventView, _ seen: inout Seen) {
    seen.events += 1
    _ = e.receivedAtMicros
    _ = (e.account, e.source, e.type, e.id, e.payloadCount)
    let refs = e.refs
    if let entity = e.entity, seen.entities.count < 2, !seen.entities.contains(entity) { seen.entities.append(entity) }
    if let ref = refs.last, seen.refs.count < 2, !seen.refs.contains(ref) { seen.refs.append(ref) }
    let sum = e.withPayload { p in p.reduce(0) { $0 &+ Int($1) } }
    _ = sum
    var line: [UInt8] = []
    e.appendNDJSON(to: &line)
    let copy = e.event
    if copy.seq != e.seq || copy.payload.count != e.payloadCount || copy.refs != refs { fail("event copy differs from its view") }
}

private func read(_ directory: String) {
    guard let reader = try? ArchiveReader(directory: directory), let snapshot = try? reader.snapshot() else { return }
    _ = try? reader.diskUsage()
    _ = (snapshot.firstSeq, snapshot.endSeq, snapshot.eventCount, snapshot.damage, snapshot.segmentCount)
    _ = (snapshot.logBytes, snapshot.uncompressedBytes, snapshot.compressedBytes, snapshot.timeRange)
    var names: [(ArchiveSnapshot.NameField, String)] = []
    for field in [ArchiveSnapshot.NameField.account, .source, .type] {
        if let name = snapshot.counts(of: field).keys.min() { names.append((field, name)) }
    }

    // (Seqs need not ascend across segments here: an input may hold segments whose seqs overlap, which
    // `hooklog check` reports; readers only skip what they cannot read.)
    var seen = Seen()
    _ = try? snapshot.forEachView(matching: EventFilter(), onDamage: { _ in }) { e in
        touch(e, &seen)
        return true
    }
    var unused = Seen()
    _ = try? snapshot.forEachView(matching: EventFilter()) { touch($0, &unused); return true }
    _ = try? snapshot.forEachView(matching: EventFilter(), reverse: true, limit: 7, onDamage: { _ in }) {
        touch($0, &unused)
        return true
    }

    // Through the indexes: whatever comes back must match the filter (hits are checked against the event).
    // Each query decodes blocks again: a few of each kind keep an input in the milliseconds.
    func query(_ filter: EventFilter, reverse: Bool = false, _ check: (EventView) -> Bool) {
        _ = try? snapshot.forEachView(matching: filter, reverse: reverse, limit: 50, onDamage: { _ in }) { e in
            if !check(e) { fail("event \(e.seq) does not match \(filter)") }
            return true
        }
    }
    for (field, name) in names where !name.contains(where: { "*?[\\".contains($0) }) {
        switch field {
        case .account: query(EventFilter(account: name)) { $0.account == name }
        case .source: query(EventFilter(source: name)) { $0.source == name }
        case .type: query(EventFilter(type: name), reverse: true) { $0.type == name }
        }
    }
    query(EventFilter(type: "*.*")) { $0.type.contains(".") }
    for entity in seen.entities { query(EventFilter(entity: entity)) { $0.entity == entity } }
    for ref in seen.refs { query(EventFilter(ref: ref), reverse: true) { $0.entity == ref || $0.refs.contains(ref) } }
    if let range = snapshot.timeRange {
        let middle = range.lowerBound / 2 + range.upperBound / 2
        query(EventFilter(account: names.first?.1, since: middle)) { $0.receivedAtMicros >= middle }
        query(EventFilter(until: middle), reverse: true) { $0.receivedAtMicros < middle }
    }
    let (first, end) = (snapshot.firstSeq, snapshot.endSeq)
    let middle = first / 2 + end / 2
    if middle < UInt64.max { query(EventFilter(afterSeq: middle)) { $0.seq > middle } }
    query(EventFilter(beforeSeq: middle), reverse: true) { $0.seq < middle }
    let needle = Array("\"id\"".utf8)
    query(EventFilter(contains: needle)) { $0.withPayload { p in contains(p, needle) } }

    for seq in Set([first, middle, end &- 1]) {
        if let event = try? snapshot.event(seq: seq), event.seq != seq { fail("event(seq: \(seq)) returned \(event.seq)") }
    }
}

private func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
    guard haystack.count >= needle.count else { return false }
    for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
        if (1..<needle.count).allSatisfy({ haystack[i + $0] == needle[$0] }) { return true }
    }
    return false
}
