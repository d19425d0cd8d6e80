import Foundation
import NotifyStore
import ServiceLifecycle
import Testing

/// The behaviour every ``EscalationStore`` must show (product §12), written
/// against the protocols alone; each store's suite runs every ``Scenario``
/// on a fresh store with ``StoreContract/retention``.
struct EscalationStoreContract: Sendable {
    typealias Store = any IdempotencyStore

    /// Makes a fresh, empty store with ``StoreContract/retention``.
    let makeStore: @Sendable () async throws -> Store

    enum Scenario: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case createdOnce, compareAndSet, racingWritersOneWins, dueByDeadlineAndPendingEmission, activeBySubject
        case endedSweptAfterRetention

        var testDescription: String { self.rawValue }
    }

    static let t0 = StoreContract.t0
    static func at(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }

    static func escalation(
        _ id: String, subject: String = "fp-1\ndb", deadline: TimeInterval = 300, ended: Bool = false, pending: Bool = false,
        body: String = "{}"
    ) -> StoredEscalation {
        StoredEscalation(
            id: id, subject: subject, deadline: at(deadline), isEnded: ended, emissionPending: pending, body: Array(body.utf8))
    }

    func run(_ scenario: Scenario) async throws {
        let store = try await self.makeStore()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            do {
                try await Self.body(of: scenario)(store)
            } catch {
                await store.close()
                group.cancelAll()
                throw error
            }
            await store.close()
            group.cancelAll()
        }
    }

    static func body(of scenario: Scenario) -> (Store) async throws -> Void {
        switch scenario {
        case .createdOnce: createdOnce
        case .compareAndSet: compareAndSet
        case .racingWritersOneWins: racingWritersOneWins
        case .dueByDeadlineAndPendingEmission: dueByDeadlineAndPendingEmission
        case .activeBySubject: activeBySubject
        case .endedSweptAfterRetention: endedSweptAfterRetention
        }
    }

    /// A second create of one id (a redelivered alert) changes nothing.
    static func createdOnce(_ store: Store) async throws {
        #expect(try await store.escalation(id: "esc:1") == nil)
        #expect(try await store.createEscalation(escalation("esc:1", body: #"{"step":0}"#), now: t0))
        #expect(try await !store.createEscalation(escalation("esc:1", deadline: 999, body: #"{"step":9}"#), now: at(1)))
        let stored = try #require(try await store.escalation(id: "esc:1"))
        #expect(stored == escalation("esc:1", body: #"{"step":0}"#))
        #expect(stored.version == 1)
    }

    /// A write happens only at the version it was read at, and moves it on.
    static func compareAndSet(_ store: Store) async throws {
        #expect(try await store.createEscalation(escalation("esc:1"), now: t0))
        var next = escalation("esc:1", deadline: 600, pending: true, body: #"{"step":1}"#)
        #expect(try await store.updateEscalation(next, expectedVersion: 1, now: at(300)))
        next.version = 2
        #expect(try await store.escalation(id: "esc:1") == next)
        // A writer still at version 1 is refused and changes nothing.
        #expect(try await !store.updateEscalation(escalation("esc:1", ended: true, body: #"{"late":true}"#), expectedVersion: 1, now: at(301)))
        #expect(try await store.escalation(id: "esc:1") == next)
        // An escalation nobody created is not written.
        #expect(try await !store.updateEscalation(escalation("esc:none"), expectedVersion: 1, now: at(1)))
        #expect(try await store.escalation(id: "esc:none") == nil)
    }

    /// Two workers (here 24 writers) decide one step, as when one deadline
    /// is due for every replica or one report is delivered to several (a
    /// redelivered report): exactly one write wins.
    static func racingWritersOneWins(_ store: Store) async throws {
        #expect(try await store.createEscalation(escalation("esc:1"), now: t0))
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for writer in 0..<24 {
                group.addTask {
                    try await store.updateEscalation(
                        escalation("esc:1", deadline: 600, pending: true, body: #"{"writer":\#(writer)}"#), expectedVersion: 1, now: at(300))
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
        #expect(try await store.escalation(id: "esc:1")?.version == 2)
    }

    /// Due: not ended with the deadline passed, and any whose emission is
    /// pending; earliest deadline first, at most `limit`.
    static func dueByDeadlineAndPendingEmission(_ store: Store) async throws {
        for stored in [
            escalation("esc:late", deadline: 20), escalation("esc:early", deadline: 10),
            escalation("esc:future", deadline: 1000), escalation("esc:ended", deadline: 5, ended: true),
            escalation("esc:pending", deadline: 2000, pending: true),
            escalation("esc:ended-pending", deadline: 1, ended: true, pending: true),
        ] {
            #expect(try await store.createEscalation(stored, now: t0))
        }
        #expect(try await store.dueEscalations(now: at(15), limit: 10).map(\.id) == ["esc:ended-pending", "esc:early", "esc:pending"])
        #expect(try await store.dueEscalations(now: at(20), limit: 10).map(\.id) == ["esc:ended-pending", "esc:early", "esc:late", "esc:pending"])
        #expect(try await store.dueEscalations(now: at(20), limit: 2).map(\.id) == ["esc:ended-pending", "esc:early"])
        #expect(try await store.dueEscalations(now: at(-100), limit: 10).map(\.id) == ["esc:ended-pending", "esc:pending"])
        #expect(try await store.activeEscalationCount() == 4)
    }

    /// The escalations a `resolved` record or a new firing ends: its subject's, not ended.
    static func activeBySubject(_ store: Store) async throws {
        #expect(try await store.createEscalation(escalation("esc:a1", subject: "fp-a\ndb"), now: t0))
        #expect(try await store.createEscalation(escalation("esc:a2", subject: "fp-a\ndb", ended: true), now: t0))
        #expect(try await store.createEscalation(escalation("esc:a3", subject: "fp-a\nweb"), now: t0))
        #expect(try await store.createEscalation(escalation("esc:b1", subject: "fp-b\ndb"), now: t0))
        #expect(try await store.activeEscalations(subject: "fp-a\ndb").map(\.id) == ["esc:a1"])
        #expect(try await store.activeEscalations(subject: "fp-c\ndb").isEmpty)
        #expect(try await store.updateEscalation(escalation("esc:a1", subject: "fp-a\ndb", ended: true), expectedVersion: 1, now: at(1)))
        #expect(try await store.activeEscalations(subject: "fp-a\ndb").isEmpty)
        #expect(try await store.activeEscalationCount() == 2)
    }

    /// Ended escalations go with the store's sweep once retention has passed
    /// since their last write; waiting ones stay, however old.
    static func endedSweptAfterRetention(_ store: Store) async throws {
        let retention = StoreContract.retention.timeInterval
        #expect(try await store.createEscalation(escalation("esc:ended", ended: true), now: t0))
        #expect(try await store.createEscalation(escalation("esc:waiting"), now: t0))
        #expect(try await store.createEscalation(escalation("esc:recent"), now: t0))
        #expect(try await store.updateEscalation(escalation("esc:recent", ended: true), expectedVersion: 1, now: at(retention)))
        _ = try await store.sweep(now: at(retention + 1))
        #expect(try await store.escalation(id: "esc:ended") == nil)
        #expect(try await store.escalation(id: "esc:waiting") != nil)
        #expect(try await store.escalation(id: "esc:recent") != nil)
    }
}
