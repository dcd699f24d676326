import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where the benchmarks keep their data and how big they make it, from the environment.
///
/// - `HOOKLOG_BENCH_EVENTS`: events in the big archive (default 1,000,000; 10,000,000 by hand).
/// - `HOOKLOG_BENCH_SEED`: the corpus seed (default 42).
/// - `HOOKLOG_BENCH_DATA`: the cache directory (default `benchmarks/.data`, gitignored).
/// - `HOOKLOG_BENCH_RUN`: the run whose results the summary lines pair up (`run.sh` sets it).
public enum BenchEnv {
    public static var bigEventCount: Int {
        integer("HOOKLOG_BENCH_EVENTS") ?? 1_000_000
    }

    public static var seed: UInt64 {
        UInt64(integer("HOOKLOG_BENCH_SEED") ?? 42)
    }

    public static var dataRoot: String {
        if let d = ProcessInfo.processInfo.environment["HOOKLOG_BENCH_DATA"], !d.isEmpty { return d }
        // benchmarks/Sources/BenchSupport/BenchEnv.swift -> benchmarks/.data
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".data").path
    }

    public static var runID: String {
        ProcessInfo.processInfo.environment["HOOKLOG_BENCH_RUN"].flatMap { $0.isEmpty ? nil : $0 } ?? "adhoc"
    }

    static func integer(_ name: String) -> Int? {
        guard let v = ProcessInfo.processInfo.environment[name] else { return nil }
        return Int(v.filter { $0 != "_" })
    }

    /// A fresh, empty scratch directory under the data root (removed by `removeTree`).
    public static func scratchDirectory(_ name: String) throws -> String {
        let path = dataRoot + "/tmp/\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Monotonic nanoseconds.
@inline(__always)
public func nanos() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// Reads the process's resident set from /proc/self/status: (VmRSS, VmHWM) in bytes.
public func residentMemory() -> (current: Int, peak: Int) {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func field(_ name: String) -> Int {
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let digits = line.dropFirst(name.count + 1).filter(\.isNumber)
            return (Int(digits) ?? 0) * 1024
        }
        return 0
    }
    return (field("VmRSS"), field("VmHWM"))
}

/// Disk usage of a directory tree as `du` counts it (allocated blocks), and its apparent size.
public func diskUsage(_ path: String) -> (allocated: UInt64, apparent: UInt64) {
    var allocated: UInt64 = 0
    var apparent: UInt64 = 0
    var st = stat()
    guard lstat(path, &st) == 0 else { return (0, 0) }
    allocated += UInt64(st.st_blocks) * 512
    apparent += UInt64(st.st_size)
    if (st.st_mode & S_IFMT) == S_IFDIR, let names = try? FileManager.default.contentsOfDirectory(atPath: path) {
        for name in names {
            let (a, b) = diskUsage(path + "/" + name)
            allocated += a
            apparent += b
        }
    }
    return (allocated, apparent)
}

/// Percentile of sorted samples (nearest rank).
public func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}
