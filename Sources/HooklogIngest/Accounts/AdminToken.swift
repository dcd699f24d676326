import Foundation
import HooklogSigning

/// The admin token that guards `GET /v1/events`, in `DATA/admin-token` (mode 0600).
///
/// Unlike account tokens it is kept as it is: `hooklog admin-token` prints it again whenever the operator
/// asks, as the contract requires. It grants reading only, never writing.
public enum AdminToken {
    /// The token file's path in `directory`.
    public static func path(directory: String) -> String { directory + "/admin-token" }

    /// The current token, if one was made.
    public static func load(directory: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path(directory: directory)) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// The current token, made and stored first if there is none (or anew with `rotate`).
    /// - Returns: the token and whether it is new.
    public static func ensure(
        directory: String, rotate: Bool = false
    ) throws(IngestConfigError) -> (token: String, created: Bool) {
        if !rotate, let token = load(directory: directory) { return (token, false) }
        try AccountFile.makePrivateDirectory(directory)
        let token = Token.generate(prefix: "hla_")
        try AccountFile.writeAtomically(
            Array((token + "\n").utf8), to: path(directory: directory), directory: directory)
        return (token, true)
    }
}
