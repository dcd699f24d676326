import ArgumentParser
import HooklogStore

extension Hooklog {
    /// Where the archive stands: events, bytes, per account and type.
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the archive's size: events, segments, bytes of log, events per account and type.",
            discussion: "Reads the indexes only; safe to run while another process writes.")

        @OptionGroup var options: DataOptions

        func run() async throws {
            do {
                let snapshot = try ArchiveReader(directory: options.directory).snapshot()
                print("events: \(snapshot.eventCount) (seq \(snapshot.firstSeq)..<\(snapshot.endSeq))")
                print("segments: \(snapshot.segmentCount), log bytes: \(snapshot.logBytes)")
                for (title, field) in [("account", ArchiveSnapshot.NameField.account), ("type", .type)] {
                    for (name, count) in snapshot.counts(of: field).sorted(by: { $0.key < $1.key }) {
                        print("\(title) \(name): \(count)")
                    }
                }
                for d in snapshot.damage { print("damage: \(d)") }
            } catch {
                fail(error)
            }
        }
    }
}
