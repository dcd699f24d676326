import Testing

@testable import HooklogIngest

// Reservations are noncopyable, which Swift Testing's macros cannot capture: what is checked is worked
// out into plain values first.
@Suite struct BodyBudgetTests {
    @Test("a reservation holds its bytes until it goes out of scope, on every path")
    func releasedOnScopeExit() throws {
        let budget = BodyBudget(capacity: 1000, smallBody: 100)
        do {
            guard let first = budget.reserve(60) else { throw Refused() }
            #expect(budget.reserved == 60)
            _ = consume first
        }
        #expect(budget.reserved == 0)
        func holdThenThrow() throws {
            let held = budget.reserve(50)
            let holding = held != nil && budget.reserved == 50
            #expect(holding)
            throw Refused()
        }
        #expect(throws: Refused.self) { try holdThenThrow() }
        #expect(budget.reserved == 0, "released when an error leaves the scope")
    }

    @Test("bodies over the small size fill three quarters of the budget; small ones may take the rest")
    func smallBodiesKeepTheirShare() throws {
        let budget = BodyBudget(capacity: 1000, smallBody: 100)
        var first = budget.reserve(400)
        let second = budget.reserve(300)
        let bothHeld = first != nil && second != nil
        #expect(bothHeld && budget.reserved == 700)
        let bulkRefused = budget.reserve(101) == nil
        #expect(bulkRefused, "750 is the bulk limit")
        #expect(budget.reserved == 700, "a refusal holds nothing")
        let small1 = budget.reserve(100)
        let small2 = budget.reserve(100)
        let small3 = budget.reserve(100)
        let smallHeld = small1 != nil && small2 != nil && small3 != nil
        #expect(smallHeld && budget.reserved == 1000)
        let fullRefused = budget.reserve(1) == nil
        #expect(fullRefused, "the whole budget is held")
        first = nil
        #expect(budget.reserved == 600)
    }

    @Test("a chunked body grows its reservation part by part, and counts as bulk once over the small size")
    func growing() throws {
        let budget = BodyBudget(capacity: 1000, smallBody: 100)
        guard var body = budget.reserve(0) else { throw Refused() }
        let grew = body.grow(by: 80)
        #expect(grew && body.bytes == 80)
        guard let other = budget.reserve(650) else { throw Refused() }
        let bulkGrew = body.grow(by: 100)
        #expect(!bulkGrew, "80 + 100 is bulk, and 650 + 180 is over the bulk limit")
        #expect(body.bytes == 80 && budget.reserved == 730)
        let smallGrew = body.grow(by: 20)
        #expect(smallGrew, "100 in all is still small")
        _ = consume other
        let grewAgain = body.grow(by: 300)
        #expect(grewAgain && budget.reserved == 400)
        _ = consume body
        #expect(budget.reserved == 0)
    }

    @Test("the connection gate lets in up to its limit and again after a leave")
    func gate() {
        let gate = ConnectionGate(limit: 2)
        #expect(gate.enter() && gate.enter())
        #expect(!gate.enter() && gate.count == 2)
        gate.leave()
        #expect(gate.enter() && gate.count == 2)
    }

    private struct Refused: Error {}
}
