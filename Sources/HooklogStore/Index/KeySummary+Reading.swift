#if canImport(Glibc)
import Glibc
#endif

extension KeySummary {
    /// The summary as a reader finds it: the directory read whole, the filter file open for page reads.
    struct View: Sendable {
        let entries: [Entry]
        let filters: RawFile

        init(entries: [Entry], filters: RawFile) {
            self.entries = entries
            self.filters = filters
        }

        /// Reads the summary of the archive in `logDirectory`; nil when there is none or it cannot be
        /// used (the reader then opens every segment, as before there was one).
        init?(logDirectory: String) {
            guard let directory = try? RawFile(path: logDirectory + "/" + KeySummary.directoryName, flags: O_RDONLY),
                let size = try? directory.size(), size <= UInt64(Int32.max),
                let bytes = try? directory.read(at: 0, count: Int(size)),
                let entries = KeySummary.entries(ofDirectory: bytes), !entries.isEmpty,
                let filters = try? RawFile(path: logDirectory + "/" + KeySummary.filterName, flags: O_RDONLY)
            else { return nil }
            self.entries = entries
            self.filters = filters
        }

        /// The entry of the segment starting at `baseSeq`, if the summary has one.
        func entry(baseSeq: UInt64) -> Entry? {
            var (lo, hi) = (0, entries.count)
            while lo < hi {
                let mid = (lo + hi) / 2
                if entries[mid].baseSeq < baseSeq { lo = mid + 1 } else { hi = mid }
            }
            return lo < entries.count && entries[lo].baseSeq == baseSeq ? entries[lo] : nil
        }

        /// False only when the segment's filter says it holds no event under `key`; true when it may,
        /// or when its page cannot be read or fails its checksum.
        func mayHold(_ key: UInt64, in entry: Entry) -> Bool {
            let k = KeySummary.normalize(key)
            let line = KeySummary.line(of: k, lineCount: Int(entry.lineCount))
            // Bounded by `Entry.decode` (offset < 2^48, lines < 2^26): no overflow.
            let number = line / KeySummary.linesPerPage
            let pageOffset = entry.offset + UInt64(number * KeySummary.pageSize)
            guard let page = try? filters.read(at: pageOffset, count: KeySummary.pageSize),
                KeySummary.pageHolds(page, entry: entry, number: number)
            else { return true }
            return KeySummary.bitsSet(k, line: line, in: page, pageStart: 0)
        }

        /// The whole filter of `entry`, each page checked: the filter's bytes, or the number of the
        /// first page that cannot be read or fails its checksum (for `check`, which tests every key).
        func wholeFilter(_ entry: Entry) -> Result<[UInt8], PageError> {
            guard let bytes = try? filters.read(at: entry.offset, count: entry.pageCount * KeySummary.pageSize),
                bytes.count == entry.pageCount * KeySummary.pageSize
            else { return .failure(PageError(page: 0)) }
            for p in 0..<entry.pageCount {
                let page = Array(bytes[(p * KeySummary.pageSize)..<((p + 1) * KeySummary.pageSize)])
                guard KeySummary.pageHolds(page, entry: entry, number: p) else { return .failure(PageError(page: p)) }
            }
            return .success(bytes)
        }

        /// A filter page that cannot be read or fails its checksum.
        struct PageError: Error {
            var page: Int
        }
    }

    /// Whether every bit of normalised key `k` is set in filter line `line`, in `bytes` holding the
    /// line's page from `pageStart`.
    static func bitsSet(_ k: UInt64, line: Int, in bytes: [UInt8], pageStart: Int) -> Bool {
        let start = pageStart + (line % linesPerPage) * lineSize
        var all = true
        bits(of: k) { bit in
            if bytes[start + bit >> 3] & (1 << UInt8(bit & 7)) == 0 { all = false }
        }
        return all
    }
}
