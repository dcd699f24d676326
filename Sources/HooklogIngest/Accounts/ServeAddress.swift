import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The base URL senders reach the last `serve` of a data directory at, in `DATA/serve-url` (mode 0600), so
/// that `hooklog account add` and `rotate` print a webhook URL with the port and host `serve` really uses
/// rather than a guess.
public enum ServeAddress {
    /// The file's path in `directory`.
    public static func path(directory: String) -> String { directory + "/serve-url" }

    /// The base URL a server listening on `host`:`port` is reached at, and whether `host` is a wildcard.
    ///
    /// A wildcard address (`0.0.0.0`, `::`) is where a server listens, never where a sender can reach
    /// it: the machine's host name stands in for it then (`wildcard` true, so the caller can say that
    /// the name must be one the senders resolve). An IPv6 address is bracketed (RFC 3986).
    public static func baseURL(host: String, port: Int) -> (url: String, wildcard: Bool) {
        let wildcard = ["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"].contains(host)
        var name = host
        if wildcard { name = hostName() ?? "localhost" }
        if name.contains(":") && !name.hasPrefix("[") { name = "[\(name)]" }
        return ("http://\(name):\(port)", wildcard)
    }

    /// This machine's host name, if it has one.
    static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? nil : name
    }

    /// Records `url` as where senders reach this data directory's server.
    public static func record(_ url: String, directory: String) throws(IngestConfigError) {
        try AccountFile.writeAtomically(Array((url + "\n").utf8), to: path(directory: directory), directory: directory)
    }

    /// The recorded base URL, if a `serve` ever ran on `directory`.
    public static func load(directory: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path(directory: directory)) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.hasPrefix("http://") || text.hasPrefix("https://") ? text : nil
    }
}
