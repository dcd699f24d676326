import ArgumentParser
import HooklogStore

extension Hooklog {
    /// Archives a sample order's life in the data directory and reads it back through the indexes.
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Try the archive store: store a sample order's webhooks, then find its whole story.",
            discussion: """
                Appends one Orderspace-shaped order lifecycle (created, updated, dispatched, invoiced, \
                paid, stock moves) as a single durable batch, then looks the order up by --ref the way \
                `hooklog query --ref` will, and prints where the archive stands. Run it twice: the second \
                run's batch is a byte-identical retry and is recognised as one.
                """)

        @OptionGroup var options: DataOptions

        func run() async throws {
            let store: ArchiveStore
            do {
                store = try ArchiveStore.open(directory: options.directory)
            } catch {
                fail(error)
            }
            for note in store.recoveryNotes { print("recovered: \(note)") }
            let order = "or_demo_2311"
            let sample: [(String, String?, [String], String)] = [
                (
                    "order.created", order, ["cu_demo", "MUG-STW-01"],
                    #"{"event":"order.created","data":{"order":{"id":"or_demo_2311","customer_id":"cu_demo","order_lines":[{"sku":"MUG-STW-01","quantity":24}]}}}"#
                ),
                (
                    "order.updated", order, ["cu_demo", "MUG-STW-01"],
                    #"{"event":"order.updated","data":{"order":{"id":"or_demo_2311","status":"released","customer_id":"cu_demo","order_lines":[{"sku":"MUG-STW-01","quantity":24}]}}}"#
                ),
                (
                    "dispatch.created", "di_demo", [order, "MUG-STW-01"],
                    #"{"event":"dispatch.created","data":{"dispatch":{"id":"di_demo","order_id":"or_demo_2311","dispatch_lines":[{"sku":"MUG-STW-01","quantity":24}]}}}"#
                ),
                (
                    "inventory_level.updated", "MUG-STW-01", [],
                    #"{"event":"inventory_level.updated","data":{"inventory_level":{"sku":"MUG-STW-01","on_hand":76.0,"on_hand_adjustment":-24.0}}}"#
                ),
                (
                    "invoice.created", "iv_demo", ["cu_demo", order, "MUG-STW-01"],
                    #"{"event":"invoice.created","data":{"invoice":{"id":"iv_demo","customer_id":"cu_demo","orders":[{"id":"or_demo_2311"}]}}}"#
                ),
                (
                    "payment.created", "iv_demo", ["py_demo"],
                    #"{"event":"payment.created","data":{"payment":{"invoice_id":"iv_demo","reference":"py_demo","amount":248.4}}}"#
                ),
            ]
            let events = sample.map { type, entity, refs, json in
                NewEvent(
                    account: "default", source: "orderspace", type: type, entity: entity, refs: refs, id: nil,
                    payload: Array(json.utf8))
            }
            var digest = [UInt8](repeating: 0, count: 32)
            for (i, b) in sample.map(\.3).joined().utf8.enumerated() { digest[i % 32] &+= b }
            do {
                let result = try await store.append(AppendRequest(events: events, bodyDigest: digest))
                if result.storedSeqs.isEmpty {
                    print(
                        "appended nothing: the batch is a retry of events \(result.outcomes.first.map { "\($0)" } ?? "")"
                    )
                } else {
                    print(
                        "appended \(result.storedSeqs.count) events durably: seq \(result.storedSeqs.first!)...\(result.storedSeqs.last!)"
                    )
                }
                let snapshot = try store.reader().snapshot()
                print("the story of \(order) (query --ref \(order)):")
                try snapshot.forEach(matching: EventFilter(ref: order)) { e in
                    print("  \(e.seq)  \(RFC3339.format(micros: e.receivedAtMicros))  \(e.type)  \(e.entity ?? "-")")
                    return true
                }
                print(
                    "archive at \(options.directory): \(snapshot.eventCount) events in \(snapshot.segmentCount) segment(s), \(snapshot.logBytes) bytes of log"
                )
            } catch {
                fail(error)
            }
            store.close()
        }
    }
}
