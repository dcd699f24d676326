import Foundation
import HooklogStore
import Testing

@testable import HooklogReplay

@Suite struct LaneQueueTests {
    @Test func eventsComeOutInTheOrderTheyWentInBatchByBatch() async throws {
        let archive = try await TestArchive(count: 40)
        defer { archive.remove() }
        let events = try archive.events()
        let queue = LaneQueue(capacity: 64)
        #expect(queue.tryPush(events[...]) == 40)
        queue.finish()
        var out: [UInt64] = []
        while true {
            let batch = await queue.next(7)
            if batch.isEmpty { break }
            #expect(batch.count == 7 || out.count + batch.count == 40, "full batches until the end")
            out += batch.map(\.seq)
        }
        #expect(out == events.map(\.seq))
    }

    @Test func aFullQueueTakesNoMoreAndTheProducerWaitsForRoom() async throws {
        let archive = try await TestArchive(count: 10)
        defer { archive.remove() }
        let events = try archive.events()
        let queue = LaneQueue(capacity: 4)
        #expect(queue.tryPush(events[0..<10]) == 4)
        #expect(queue.tryPush(events[4..<10]) == 0)
        let producer = Task {
            await queue.waitForRoom()
            return ContinuousClock.now
        }
        try await Task.sleep(for: .milliseconds(50))
        let taken = ContinuousClock.now
        let first = await queue.next(2)
        #expect(await producer.value >= taken, "the producer went on only once the lane took some")
        #expect(first.map(\.seq) == events[0..<2].map(\.seq))
        #expect(queue.tryPush(events[4..<10]) == 2)
        queue.finish()
        #expect(await queue.next(10).map(\.seq) == events[2..<6].map(\.seq), "in order across the wait")
    }

    @Test func aConsumerWaitsForAFullBatchOrTheEnd() async throws {
        let archive = try await TestArchive(count: 5)
        defer { archive.remove() }
        let events = try archive.events()
        let queue = LaneQueue(capacity: 16)
        let consumer = Task { await queue.next(4) }
        #expect(queue.tryPush(events[0..<2]) == 2)
        try await Task.sleep(for: .milliseconds(30))
        #expect(queue.tryPush(events[2..<5]) == 3)
        #expect(
            await consumer.value.map(\.seq) == events[0..<4].map(\.seq),
            "one full batch: the same requests on every run")
        let rest = Task { await queue.next(4) }
        try await Task.sleep(for: .milliseconds(30))
        queue.finish()
        #expect(await rest.value.map(\.seq) == [events[4].seq])
        #expect(await queue.next(4).isEmpty)
    }

    @Test func aClosedLaneReleasesTheProducerAndDropsWhatComes() async throws {
        let archive = try await TestArchive(count: 6)
        defer { archive.remove() }
        let events = try archive.events()
        let queue = LaneQueue(capacity: 2)
        #expect(queue.tryPush(events[...]) == 2)
        let producer = Task { await queue.waitForRoom() }
        try await Task.sleep(for: .milliseconds(30))
        queue.close()
        await producer.value
        #expect(queue.tryPush(events[2...]) == 4, "dropped: their events stay unsettled for the next run")
    }

    @Test func anEntityAlwaysGoesToTheSameLaneSoItsEventsStayInOrder() async throws {
        let archive = try await TestArchive(count: 300, entities: 7)
        defer { archive.remove() }
        let events = try archive.events()
        for lanes in [1, 3, 8, 64] {
            var laneOf: [String: Int] = [:]
            for e in events {
                let lane = e.lane(of: lanes)
                #expect((0..<lanes).contains(lane))
                if let entity = e.entity {
                    #expect(laneOf[entity, default: lane] == lane, "\(entity) on one lane")
                    laneOf[entity] = lane
                }
            }
        }
    }
}
