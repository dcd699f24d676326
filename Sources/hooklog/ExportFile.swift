import CZlib

#if canImport(Glibc)
import Glibc
#endif

/// The file `export` writes: a temporary name beside the target, renamed over it only when complete,
/// so an interrupted or failed export never leaves a half-written file. Gzip-compressed (level 6, as
/// `gzip -6`) when the name ends in `.gz`. A target that is not a regular file (`/dev/null`, a FIFO)
/// or `-` (standard output) is written directly: there is nothing to rename over. All of the CLI's
/// pointer code is in this file.
final class ExportFile {
    let path: String
    /// Where bytes go until `commit`; nil when writing straight to a device, a pipe or standard output.
    let temporaryPath: String?
    private let fd: Int32
    private var stream: UnsafeMutablePointer<z_stream>?
    /// Bytes not yet written (or compressed): lines are formatted straight into it.
    private var pending: UnsafeMutablePointer<UInt8>
    private var pendingCapacity = 1 << 20
    private var pendingCount = 0
    private var output = [UInt8](repeating: 0, count: 1 << 16)
    private(set) var bytesWritten: UInt64 = 0

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(path: String) throws {
        self.path = path
        pending = .allocate(capacity: pendingCapacity)
        var st = stat()
        if path == "-" {
            temporaryPath = nil
            fd = dup(1)
        } else if stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            temporaryPath = nil
            fd = open(path, O_WRONLY | O_CLOEXEC)
        } else {
            let slash = path.lastIndex(of: "/")
            let directory = slash.map { String(path[..<$0]) } ?? "."
            let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
            let temporary = (directory.isEmpty ? "" : directory + "/") + "." + name + ".hooklog-partial"
            temporaryPath = temporary
            fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        }
        // (On a throw below, every property is set: deinit runs and frees `pending`, closes `fd`.)
        guard fd >= 0 else {
            throw Failure(
                description:
                    "cannot write \(path): \(String(cString: strerror(errno))); check that its directory exists and is writable"
            )
        }
        if path.hasSuffix(".gz") {
            let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            s.initialize(to: z_stream())
            // windowBits 15 + 16: a gzip header and trailer, not a bare zlib stream.
            guard
                deflateInit2_(
                    s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
                    == Z_OK
            else {
                s.deallocate()
                throw Failure(description: "cannot start gzip compression for \(path)")
            }
            stream = s
        }
    }

    deinit {
        if let stream {
            deflateEnd(stream)
            stream.deallocate()
        }
        if fd >= 0 { close(fd) }
        pending.deallocate()
    }

    /// Writes (or compresses) `buffer` as it is, after what is buffered.
    func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        if buffer.count < 1 << 16 {
            try write(capacity: buffer.count) { dst in
                dst.update(from: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: buffer.count)
                return buffer.count
            }
            return
        }
        try drain(finish: false)
        try consume(buffer, finish: false)
    }

    /// Lets `body` write up to `capacity` bytes straight into the buffer; it returns how many it wrote.
    func write(capacity: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) throws {
        if pendingCount + capacity > pendingCapacity {
            try drain(finish: false)
            if capacity > pendingCapacity {
                pending.deallocate()
                pendingCapacity = capacity
                pending = .allocate(capacity: capacity)
            }
        }
        let n = body(pending + pendingCount)
        precondition(n <= capacity, "wrote past the room it asked for")
        pendingCount += n
        if pendingCount >= 1 << 19 { try drain(finish: false) }
    }

    private func writeAll(_ buffer: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            done += n
        }
        bytesWritten += UInt64(buffer.count)
    }

    private func drain(finish: Bool) throws {
        try consume(UnsafeRawBufferPointer(start: pending, count: pendingCount), finish: finish)
        pendingCount = 0
    }

    /// Writes `input`, through the gzip stream if there is one (`finish`: and ends the stream).
    private func consume(_ input: UnsafeRawBufferPointer, finish: Bool) throws {
        guard let stream else {
            try writeAll(input)
            return
        }
        // zlib counts input in 32 bits: feed a very large buffer in slices.
        let slice = 1 << 30
        if input.count > slice {
            try consume(UnsafeRawBufferPointer(rebasing: input[..<slice]), finish: false)
            try consume(UnsafeRawBufferPointer(rebasing: input[slice...]), finish: finish)
            return
        }
        do {
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(input.count)
            var status: Int32 = Z_OK
            repeat {
                try output.withUnsafeMutableBytes { out in
                    stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(out.count)
                    status = deflate(stream, finish ? Z_FINISH : Z_NO_FLUSH)
                    guard status != Z_STREAM_ERROR else {
                        throw Failure(description: "gzip compression failed for \(path)")
                    }
                    try writeAll(UnsafeRawBufferPointer(rebasing: out[..<(out.count - Int(stream.pointee.avail_out))]))
                }
            } while stream.pointee.avail_out == 0 || (finish && status != Z_STREAM_END)
        }
    }

    /// Flushes, syncs and renames the file into place.
    func commit() throws {
        try drain(finish: true)
        guard let temporaryPath else { return }
        guard fsync(fd) == 0 else {
            throw Failure(description: "cannot sync \(path): \(String(cString: strerror(errno)))")
        }
        guard rename(temporaryPath, path) == 0 else {
            throw Failure(description: "cannot rename onto \(path): \(String(cString: strerror(errno)))")
        }
        // The rename is durable only once the directory is: until then a power cut can take it back.
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let dirFD = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else {
            throw Failure(description: "cannot open \(directory) to sync it: \(String(cString: strerror(errno)))")
        }
        defer { close(dirFD) }
        guard fsync(dirFD) == 0 else {
            throw Failure(description: "cannot sync \(directory): \(String(cString: strerror(errno)))")
        }
    }

    /// Removes the temporary file (after a failure).
    func discard() {
        if let temporaryPath { unlink(temporaryPath) }
    }
}
