#if canImport(Glibc)
import Glibc
#endif

extension Hooklog.Query.Request {
    /// Reads `query`'s arguments (those after `query`) without ArgumentParser, or returns nil for anything
    /// but the plain forms of its own options, so that ArgumentParser reads them instead and says what it
    /// always says (`--help`, a bad value, an unknown flag, a repeated option...).
    ///
    /// Why: ArgumentParser builds its model of a command by reflection, and each first conformance check
    /// of the run-time scans every conformance record of the binary (tens of thousands with NIO,
    /// Hummingbird and AsyncHTTPClient linked in): 4 ms of a cold `query --entity` that otherwise takes
    /// 7 ms on the 10 M-event benchmark archive. `query` is what a user and a script run most; the
    /// other commands are not worth a second parser.
    ///
    /// Accepted: `--data`, the filters (`--account`, `--source`, `--type`, `--entity`, `--ref`, `--since`,
    /// `--until`, `--contains`), `--limit`, `--format`, each once, as `--name value` (a value not starting
    /// with `-`) or `--name=value` (a value not empty); `--reverse` and `--follow`, at most one of them.
    /// `HOOKLOG_FULL_PARSER=1` turns the fast path off (the tests compare both).
    init?(fastParsing arguments: [String]) {
        if let flag = getenv("HOOKLOG_FULL_PARSER"), String(cString: flag) == "1" { return nil }
        // Plain variables, no `[String: String]`: a program's first dictionary of a key type makes the
        // run-time check the key's `Hashable` conformance by scanning every conformance record (0.25 ms).
        var data, account, source, type, entity, ref, since, until, contains, limitText, formatText: String?
        var reverse = false
        var follow = false
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            guard argument.hasPrefix("--") else { return nil }
            var name = argument.dropFirst(2)
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = name[..<equals]
                guard value != "" else { return nil }
            }
            if name == "reverse" || name == "follow" {
                guard value == nil else { return nil }
                if name == "reverse" {
                    guard !reverse else { return nil }
                    reverse = true
                } else {
                    guard !follow else { return nil }
                    follow = true
                }
                continue
            }
            if value == nil {
                guard i < arguments.count, !arguments[i].hasPrefix("-") else { return nil }
                value = arguments[i]
                i += 1
            }
            /// Sets an option once; a second time is ArgumentParser's to judge.
            func set(_ slot: inout String?) -> Bool {
                guard slot == nil else { return false }
                slot = value
                return true
            }
            let accepted: Bool
            switch name {
            case "data": accepted = set(&data)
            case "account": accepted = set(&account)
            case "source": accepted = set(&source)
            case "type": accepted = set(&type)
            case "entity": accepted = set(&entity)
            case "ref": accepted = set(&ref)
            case "since": accepted = set(&since)
            case "until": accepted = set(&until)
            case "contains": accepted = set(&contains)
            case "limit": accepted = set(&limitText)
            case "format": accepted = set(&formatText)
            default: accepted = false
            }
            guard accepted else { return nil }
        }
        guard !(reverse && follow) else { return nil }  // ArgumentParser says why not
        var limit: Int?
        if let text = limitText {
            guard let n = Int(text), n >= 0 else { return nil }
            limit = n
        }
        var format = Hooklog.Query.Format.ndjson
        if let text = formatText {
            guard let f = Hooklog.Query.Format(rawValue: text) else { return nil }
            format = f
        }
        let filters = FilterValues(
            account: account, source: source, type: type, entity: entity, ref: ref, since: since, until: until,
            contains: contains)
        self.init(
            directory: DataOptions.directory(data), filters: filters, limit: limit, reverse: reverse, follow: follow,
            format: format)
    }
}
