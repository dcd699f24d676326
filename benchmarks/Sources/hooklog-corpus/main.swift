// hooklog-corpus: writes N generated Orderspace/O2VEND events as NDJSON, one event a line:
// {"account","source","type","entity","refs","id","payload"} — the shape `hooklog query --format ndjson`
// prints (without seq and received_at, which only the archive assigns). See tools/README.md.
import Corpus

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let usage = """
    usage: hooklog-corpus [--events N] [--seed S] [--output FILE] [--stats]
      --events N     how many events to write (default 1000; also accepted as a bare number)
      --seed S       the seed: the same seed always gives the same events, byte for byte (default 42)
      --output FILE  write there instead of standard output
      --stats        print counts, sizes and the generation rate to standard error at the end

    """

func writeStderr(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String, code: Int32 = 2) -> Never {
    writeStderr("hooklog-corpus: \(message)\n")
    exit(code)
}

var count = 1000
var seed: UInt64 = 42
var outputPath: String?
var stats = false
var generateOnly = false
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "-h", "--help":
        print(usage, terminator: "")
        exit(0)
    case "-n", "--events":
        guard let v = args.popFirst(), let n = Int(v.replacingUnderscores), n >= 0 else { fail("--events needs a count") }
        count = n
    case "--seed":
        guard let v = args.popFirst(), let s = UInt64(v) else { fail("--seed needs a non-negative integer") }
        seed = s
    case "-o", "--output":
        guard let v = args.popFirst() else { fail("--output needs a file name") }
        outputPath = v
    case "--stats":
        stats = true
    case "--generate-only":  // times the generator alone (writes nothing)
        generateOnly = true
    default:
        if let n = Int(arg.replacingUnderscores), n >= 0 {
            count = n
        } else {
            fail("unknown argument '\(arg)'\n\(usage)")
        }
    }
}

extension String {
    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}

let fd: Int32
if let outputPath {
    fd = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if fd < 0 { fail("cannot create \(outputPath): \(String(cString: strerror(errno))); check the directory exists and is writable", code: 1) }
} else {
    fd = 1
}

func writeAll(_ buf: UnsafeBufferPointer<UInt8>) {
    do {
        var offset = 0
        while offset < buf.count {
            let n = write(fd, buf.baseAddress! + offset, buf.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { exit(0) }
                fail("write failed: \(String(cString: strerror(errno)))", code: 1)
            }
            offset += n
        }
    }
}

signal(SIGPIPE, SIG_IGN)
var clock = timespec()
clock_gettime(CLOCK_MONOTONIC, &clock)
let start = Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
var generator = CorpusGenerator(seed: seed)
let buffer = JSONBytes(capacity: 1 << 21)

var payloadBytes = 0
var ndjsonBytes = 0
var types: [String: Int] = [:]
for _ in 0..<count {
    let event = generator.next()!
    payloadBytes += event.payload.count
    if stats { types[event.type, default: 0] += 1 }
    if generateOnly { continue }
    event.appendNDJSON(to: buffer)
    if buffer.count >= 1 << 20 {
        ndjsonBytes += buffer.count
        buffer.withBytes { writeAll($0) }
        buffer.reset()
    }
}
ndjsonBytes += buffer.count
buffer.withBytes { writeAll($0) }
if outputPath != nil { close(fd) }
clock_gettime(CLOCK_MONOTONIC, &clock)
let elapsed = Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9 - start
if stats {
    var lines = "events: \(count) in \(String(format3(elapsed))) s = \(Int(Double(count) / max(elapsed, 1e-9))) events/s\n"
    lines += "payload bytes: \(payloadBytes) (mean \(count > 0 ? payloadBytes / count : 0) B/event); NDJSON bytes: \(ndjsonBytes)\n"
    for (type, n) in types.sorted(by: { $0.value > $1.value }) { lines += "  \(type): \(n)\n" }
    writeStderr(lines)
}

func format3(_ x: Double) -> String {
    let ms = Int((x * 1000).rounded())
    return "\(ms / 1000).\(String(ms % 1000 + 1000).dropFirst())"
}
