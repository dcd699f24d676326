import ArgumentParser
import HooklogStore

extension Hooklog {
    /// Where the archive stands: events, bytes, per account and type.
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Show the archive's size: events, bytes on disk, compression, time span, events per account and type.",
            discussion: "Reads the indexes only; safe to run while `hooklog serve` writes.")

        @OptionGroup var options: DataOptions

        func run() async throws {
            do {
                let reader = try ArchiveReader(directory: options.directory)
                let snapshot = try reader.snapshot()
                let disk = try reader.diskUsage()
                let raw = snapshot.uncompressedBytes
                print("events: \(snapshot.eventCount) (seq \(snapshot.firstSeq)..<\(snapshot.endSeq))")
                print("segments: \(snapshot.segmentCount)")
                print("bytes on disk: \(disk) (indexes included); records: \(raw) before compression")
                if snapshot.compressedBytes > 0 {
                    let ratio = Double(raw) / Double(snapshot.compressedBytes)
                    print("compression ratio: \((ratio * 100).rounded() / 100)")
                }
                if let range = snapshot.timeRange {
                    print("first: \(RFC3339.format(micros: range.lowerBound))")
                    print("last: \(RFC3339.format(micros: range.upperBound))")
                }
                for (title, field) in [
                    ("account", ArchiveSnapshot.NameField.account), ("source", .source), ("type", .type),
                ] {
                    for (name, count) in snapshot.counts(of: field).sorted(by: { $0.key < $1.key }) {
                        // Types are the senders' text: shown escaped, as `query --format table` does.
                        print("\(title) \(Query.visible(name)): \(count)")
                    }
                }
                for d in snapshot.damage { print("damage: \(d)") }
            } catch {
                fail(error)
            }
        }
    }
}
