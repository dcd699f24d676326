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
            let start = (line % KeySummary.linesPerPage) * KeySummary.lineSize
            var all = true
            KeySummary.bits(of: k) { bit in
                if page[start + bit >> 3] & (1 << UInt8(bit & 7)) == 0 { all = false }
            }
            return all
        }
    }
}
