import Foundation

/// A random name an archive gets when it is first opened for writing (`DIR/archive-id`), so that
/// identifiers derived from it (replay's Standard Webhooks `webhook-id` for events without an ID) stay
/// stable across runs yet differ between archives.
public enum ArchiveIdentity {
    static func path(_ directory: String) -> String { directory + "/archive-id" }

    /// Creates the identity file if it is missing (best effort: an archive without one still works).
    static func ensure(directory: String) {
        guard !FileManager.default.fileExists(atPath: path(directory)) else { return }
        var rng = SystemRandomNumberGenerator()
        let id = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        // Synced, with its directory: identifiers already handed out (replay's `webhook-id`s) must not
        // change because a power cut took back an identity that was never durable.
        try? FileSystem.writeAtomically(Array((id + "\n").utf8), to: path(directory), directory: directory)
    }

    /// The archive's identity, or `hooklog` for an archive that has none.
    public static func load(directory: String) -> String {
        guard let data = FileManager.default.contents(atPath: path(directory)) else { return "hooklog" }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "hooklog" : text
    }
}
