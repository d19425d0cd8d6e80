import Foundation
import NotifyCore
import Testing

/// The storm budget as a pure rule (product §10).
@Suite struct StormBudgetTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func offByDefaultAndBypassByPriority() {
        #expect(!StormBudget().isOn)
        #expect(!StormBudget().applies(toPriority: 9))
        let budget = StormBudget(window: .seconds(300), burst: 3, bypassPriority: 2)
        #expect(budget.isOn)
        #expect(!budget.applies(toPriority: 1) && !budget.applies(toPriority: 2))
        #expect(budget.applies(toPriority: 3) && budget.applies(toPriority: 9))
        #expect(StormBudget(window: .seconds(300)).applies(toPriority: 1))  // bypass 0: none
    }

    @Test func theWindowIsTrailingAndOpenAtItsStart() {
        let budget = StormBudget(window: .seconds(60), burst: 2)
        #expect(budget.admits(placedAt: [], now: t0))
        #expect(budget.admits(placedAt: [t0], now: t0))
        #expect(!budget.admits(placedAt: [t0, t0 + 1], now: t0 + 2))
        // A call placed exactly a window ago has left it; one a moment later has not.
        #expect(budget.admits(placedAt: [t0, t0 + 1], now: t0 + 60))
        #expect(!budget.admits(placedAt: [t0 + 0.001, t0 + 1], now: t0 + 60))
        #expect(budget.admits(placedAt: [t0 - 500, t0 - 61, t0], now: t0))
    }

    @Test func onlyOutcomesWithoutACallFreeTheirSlot() {
        #expect(StormBudget.freesSlot(outcome: .failed, inDoubt: false))
        #expect(StormBudget.freesSlot(outcome: .rejected, inDoubt: false))
        #expect(StormBudget.freesSlot(outcome: .expired, inDoubt: false))
        // A call in doubt counts as placed.
        #expect(!StormBudget.freesSlot(outcome: .failed, inDoubt: true))
        #expect(!StormBudget.freesSlot(outcome: .indeterminate, inDoubt: true))
        #expect(!StormBudget.freesSlot(outcome: .accepted, inDoubt: false))
    }

    @Test func theErrorNamesTheBudget() {
        let error = StormBudget(window: .seconds(300), burst: 3).suppressedError
        #expect(error.code == "dispatch.storm")
        #expect(error.message.contains("3 calls per number in 300 s"), "\(error.message)")
        #expect(StormBudget(window: .seconds(1500), burst: 1).suppressedError.message.contains("1 call per number in 1500 s"))
        #expect(StormBudget(window: .milliseconds(2500), burst: 2).suppressedError.message.contains("in 2.5 s"))
    }
}
