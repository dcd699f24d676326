#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the archive store, carrying what a user needs to fix the problem.
///
/// `description` is one line, fit for a CLI to print as it is: what went wrong, where, and what to do.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. A struct over a private enum, so new kinds break no caller.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case locked, io, diskFull, corrupt, invalidArgument, closed, notFound, unsupportedVersion
        }
        private let base: Base

        /// Another process holds the data directory's writer lock.
        public static let locked = Code(base: .locked)
        /// A read, write, sync or open failed.
        public static let io = Code(base: .io)
        /// The disk (or quota) is full: the write was rolled back and can be tried again later.
        public static let diskFull = Code(base: .diskFull)
        /// A file's bytes fail their checksum or their structure.
        public static let corrupt = Code(base: .corrupt)
        /// The caller passed something the store cannot take.
        public static let invalidArgument = Code(base: .invalidArgument)
        /// The store was closed, or stopped writing after an unrecoverable error.
        public static let closed = Code(base: .closed)
        /// The data directory or a file in it does not exist.
        public static let notFound = Code(base: .notFound)
        /// A file was written by a newer hooklog with a format version this one cannot read.
        public static let unsupportedVersion = Code(base: .unsupportedVersion)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong and how to remedy it, in one line.
    public var message: String
    /// The file or directory concerned, if any.
    public var path: String?
    /// The OS error number behind it, if any.
    public var errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, path: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
    }

    public var description: String { message }

    /// An error for a failed system call on `path`, classifying ENOSPC/EDQUOT as `diskFull`.
    static func system(_ operation: String, path: String, errno code: Int32 = Glibc.errno) -> StoreError {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT:
            return StoreError(
                .diskFull, "cannot \(operation) \(path): \(reason); free some space, nothing was lost",
                path: path, errno: code)
        case ENOENT:
            return StoreError(.notFound, "cannot \(operation) \(path): \(reason)", path: path, errno: code)
        case EACCES, EPERM, EROFS:
            return StoreError(
                .io, "cannot \(operation) \(path): \(reason); check the directory's permissions", path: path,
                errno: code)
        default:
            return StoreError(.io, "cannot \(operation) \(path): \(reason)", path: path, errno: code)
        }
    }
}
