import Foundation
import NotifyCore
import NotifyStore
import ServiceLifecycle
import Testing

/// The behaviour every ``IdempotencyStore`` must show, written against the
/// protocol alone. A store's test suite runs each ``Scenario`` with a factory
/// for fresh, empty stores whose retention is ``StoreContract/retention``
/// (`SQLiteStoreContractTests`, `PostgresStoreContractTests`).
struct StoreContract: Sendable {
    /// Retention the factory must configure.
    static let retention: Duration = .seconds(3600)

    /// Makes a fresh, empty store with ``retention``.
    let makeStore: @Sendable () async throws -> any IdempotencyStore

    enum Scenario: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case claimFreshKey, completedSameRequest, duplicateOtherRequest, conflictDifferentFingerprint
        case releaseAfterFailedNotInDoubt, duplicateAfterFailedInDoubt, inFlightLiveLeaseOtherWorker
        case inFlightSameProcess, expiredLeaseWithoutCallIsPlainTakeover, expiredLeaseInDoubtReport
        case expiredLeaseInDoubtRetry, restartedWorkerIsInDoubtAtOnce, leaseRenewal, ownerGuard
        case attemptsAndDoubt, retentionAndSweep, callSerialLookup, resolveInDoubt, concurrentClaims, closed
        case releaseClaim
        case stormBudgetPerNumber, stormWindowSlides, stormSlotFreedByFailure, stormInDoubtCounts
        case stormTakeoverCountsOnce, stormConcurrentClaims, stormSweep
        case redeliveryWithChangedContentIsCompleted
        case traceContextKeptWithTheClaim

        var testDescription: String { self.rawValue }
    }

    // MARK: Fixtures

    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    static let lease: Duration = .seconds(30)
    static let workerA = StoreOwner(worker: "worker-a", incarnation: "a-1")
    static let workerB = StoreOwner(worker: "worker-b", incarnation: "b-1")

    static func at(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }

    /// Three calls per number in any 60 s.
    static let budget = StormBudget(window: .seconds(60), burst: 3)

    /// A claim of `key` held to ``budget`` for `called`.
    static func stormRequest(
        _ requestId: String, key: String, called: String = "+8613800000001", owner: StoreOwner = workerA,
        at seconds: TimeInterval = 0, retry: Bool = false
    ) -> ClaimRequest {
        var claim = request(requestId, key: key, owner: owner, at: seconds, retry: retry)
        claim.storm = StormClaim(called: called, budget: budget)
        return claim
    }

    static func request(
        _ requestId: String, key: String = "key-1", fingerprint: String = "fp-1", owner: StoreOwner = workerA,
        at seconds: TimeInterval = 0, retry: Bool = false
    ) -> ClaimRequest {
        ClaimRequest(
            key: key, requestId: requestId, fingerprint: fingerprint, owner: owner,
            leaseDuration: lease, now: at(seconds), takeOverInDoubt: retry
        )
    }

    static func outcome(
        _ outcome: NotificationResult.Outcome, serial: String? = nil, inDoubt: Bool = false, attempts: Int = 1,
        at seconds: TimeInterval = 1
    ) -> StoredOutcome {
        StoredOutcome(
            outcome: outcome, callSerialNo: serial, inDoubt: inDoubt, attempts: attempts,
            result: Array("{\"outcome\":\"\(outcome.rawValue)\",\"at\":\(seconds)}".utf8), completedAt: at(seconds)
        )
    }

    /// Claims `requestId` as `owner` (the claim is the first attempt's start)
    /// and records `outcome`.
    @discardableResult
    static func complete(
        _ store: any IdempotencyStore, _ requestId: String, key: String = "key-1", owner: StoreOwner = workerA,
        outcome: StoredOutcome
    ) async throws -> StoredRecord {
        let claim = try await store.claim(request(requestId, key: key, owner: owner))
        try #require(claim.kind == "claimed")
        return try await store.recordOutcome(key: key, requestId: requestId, owner: owner, outcome: outcome)
    }

    // MARK: Running

    /// Runs `scenario` on a fresh store while the store's `run()` runs, as
    /// in the worker (the PostgreSQL store needs it for its pool).
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

    static func body(of scenario: Scenario) -> (any IdempotencyStore) async throws -> Void {
        switch scenario {
        case .claimFreshKey: claimFreshKey
        case .completedSameRequest: completedSameRequest
        case .duplicateOtherRequest: duplicateOtherRequest
        case .conflictDifferentFingerprint: conflictDifferentFingerprint
        case .releaseAfterFailedNotInDoubt: releaseAfterFailedNotInDoubt
        case .duplicateAfterFailedInDoubt: duplicateAfterFailedInDoubt
        case .inFlightLiveLeaseOtherWorker: inFlightLiveLeaseOtherWorker
        case .inFlightSameProcess: inFlightSameProcess
        case .expiredLeaseWithoutCallIsPlainTakeover: expiredLeaseWithoutCallIsPlainTakeover
        case .expiredLeaseInDoubtReport: expiredLeaseInDoubtReport
        case .expiredLeaseInDoubtRetry: expiredLeaseInDoubtRetry
        case .restartedWorkerIsInDoubtAtOnce: restartedWorkerIsInDoubtAtOnce
        case .leaseRenewal: leaseRenewal
        case .ownerGuard: ownerGuard
        case .attemptsAndDoubt: attemptsAndDoubt
        case .retentionAndSweep: retentionAndSweep
        case .callSerialLookup: callSerialLookup
        case .resolveInDoubt: resolveInDoubt
        case .concurrentClaims: concurrentClaims
        case .closed: closed
        case .releaseClaim: releaseClaim
        case .stormBudgetPerNumber: stormBudgetPerNumber
        case .stormWindowSlides: stormWindowSlides
        case .stormSlotFreedByFailure: stormSlotFreedByFailure
        case .stormInDoubtCounts: stormInDoubtCounts
        case .stormTakeoverCountsOnce: stormTakeoverCountsOnce
        case .stormConcurrentClaims: stormConcurrentClaims
        case .stormSweep: stormSweep
        case .redeliveryWithChangedContentIsCompleted: redeliveryWithChangedContentIsCompleted
        case .traceContextKeptWithTheClaim: traceContextKeptWithTheClaim
        }
    }

    // MARK: Scenarios

    static func claimFreshKey(_ store: any IdempotencyStore) async throws {
        #expect(try await store.lookup(key: "key-1") == nil)
        let result = try await store.claim(request("r1"))
        #expect(result.kind == "claimed")
        let stored = try #require(try await store.lookup(key: "key-1"))
        #expect(stored == result.record)
        #expect(stored.state == .claimed)
        #expect(stored.requestId == "r1")
        #expect(stored.fingerprint == "fp-1")
        #expect(stored.owner == workerA)
        #expect(stored.leaseExpiresAt == at(30))
        // The claim is the first attempt's start: its call is pending.
        #expect(stored.attempts == 1)
        #expect(stored.callPending && !stored.inDoubt && !stored.inDoubtTakeover)
        // Other keys are independent.
        #expect(try await store.claim(request("r2", key: "key-2", owner: workerB)).kind == "claimed")
    }

    static func completedSameRequest(_ store: any IdempotencyStore) async throws {
        let done = try await complete(store, "r1", outcome: outcome(.accepted, serial: "S-1"))
        #expect(done.state == .done && done.outcome == .accepted && done.callSerialNo == "S-1" && done.attempts == 1)
        #expect(done.leaseExpiresAt == nil)
        for owner in [workerA, workerB] {
            let again = try await store.claim(request("r1", owner: owner, at: 5))
            #expect(again.kind == "completed")
            #expect(again.record == done)
            #expect(again.record.result == outcome(.accepted, serial: "S-1").result)
        }
    }

    static func duplicateOtherRequest(_ store: any IdempotencyStore) async throws {
        try await complete(store, "r1", outcome: outcome(.accepted, serial: "S-1"))
        let result = try await store.claim(request("r2", owner: workerB, at: 5))
        #expect(result.kind == "duplicate")
        #expect(result.record.requestId == "r1")
        #expect(result.record.outcome == .accepted)
        #expect(result.record.callSerialNo == "S-1")
        // Rejected (by AICC), expired and indeterminate outcomes are duplicates too.
        for (index, kind) in [NotificationResult.Outcome.rejected, .expired, .indeterminate].enumerated() {
            let key = "key-other-\(index)"
            try await complete(store, "o\(index)", key: key, outcome: outcome(kind))
            #expect(try await store.claim(request("n\(index)", key: key, at: 5)).kind == "duplicate")
        }
        #expect(try await store.lookup(key: "key-1")?.requestId == "r1")
    }

    static func conflictDifferentFingerprint(_ store: any IdempotencyStore) async throws {
        let claimed = try await store.claim(request("r1"))
        let whileClaimed = try await store.claim(request("r2", fingerprint: "fp-other", owner: workerB, at: 1))
        #expect(whileClaimed.kind == "conflict")
        #expect(whileClaimed.record == claimed.record)
        _ = try await store.recordOutcome(key: "key-1", requestId: "r1", owner: workerA, outcome: outcome(.failed, attempts: 0))
        let before = try await store.lookup(key: "key-1")
        // Even a released (failed, not in doubt) key conflicts on another fingerprint, and nothing changes.
        let whenDone = try await store.claim(request("r3", fingerprint: "fp-other", owner: workerB, at: 2))
        #expect(whenDone.kind == "conflict")
        #expect(whenDone.record.requestId == "r1")
        #expect(try await store.lookup(key: "key-1") == before)
    }

    static func releaseAfterFailedNotInDoubt(_ store: any IdempotencyStore) async throws {
        try await complete(store, "r1", outcome: outcome(.failed, serial: nil, inDoubt: false, attempts: 8))
        // The same request redelivered gets its stored result; a new request gets the key.
        #expect(try await store.claim(request("r1", at: 5)).kind == "completed")
        let result = try await store.claim(request("r2", owner: workerB, at: 6))
        #expect(result.kind == "claimed")
        let stored = try #require(try await store.lookup(key: "key-1"))
        #expect(stored.state == .claimed && stored.requestId == "r2" && stored.owner == workerB)
        #expect(stored.attempts == 1 && stored.callPending && stored.outcome == nil && stored.result == nil && !stored.inDoubt)
        // The old request, redelivered now, waits for the new one.
        #expect(try await store.claim(request("r1", at: 7)).kind == "inFlight")
    }

    static func duplicateAfterFailedInDoubt(_ store: any IdempotencyStore) async throws {
        try await complete(store, "r1", outcome: outcome(.failed, inDoubt: true, attempts: 3))
        let result = try await store.claim(request("r2", owner: workerB, at: 5))
        #expect(result.kind == "duplicate")
        #expect(result.record.outcome == .failed && result.record.inDoubt)

        // An attempt ended in doubt makes the failed outcome in doubt even if the outcome says otherwise.
        _ = try await store.claim(request("r3", key: "key-2"))
        try await store.recordAttemptEnded(key: "key-2", owner: workerA, inDoubt: true)
        _ = try await store.recordAttemptStarted(key: "key-2", owner: workerA)
        let failed = try await store.recordOutcome(
            key: "key-2", requestId: "r3", owner: workerA, outcome: outcome(.failed, inDoubt: false, attempts: 2))
        #expect(failed.inDoubt)
        #expect(try await store.claim(request("r4", key: "key-2", owner: workerB, at: 5)).kind == "duplicate")
    }

    static func inFlightLiveLeaseOtherWorker(_ store: any IdempotencyStore) async throws {
        let claimed = try await store.claim(request("r1"))
        for requestId in ["r1", "r2"] {
            let result = try await store.claim(request(requestId, owner: workerB, at: 29, retry: true))
            #expect(result.kind == "inFlight")
            #expect(result.record.owner == workerA)
            #expect(result.record.leaseExpiresAt == claimed.record.leaseExpiresAt)
        }
        #expect(try await store.lookup(key: "key-1")?.owner == workerA)
    }

    static func inFlightSameProcess(_ store: any IdempotencyStore) async throws {
        _ = try await store.claim(request("r1"))
        // Redelivered to the same process while its lease is live: it is calling, wait.
        #expect(try await store.claim(request("r1", at: 1)).kind == "inFlight")
        #expect(try await store.lookup(key: "key-1")?.attempts == 1)
        // A live process renews the lease while its call is out; a lapsed lease
        // means the call was abandoned, and the claim is in doubt like any other.
        #expect(try await store.claim(request("r1", at: 300)).kind == "inDoubt")
    }

    static func releaseClaim(_ store: any IdempotencyStore) async throws {
        _ = try await store.claim(request("r1"))
        // The claim's own attempt is pending: no release until it has ended
        // without a call (the worker gives a claim back it never called with).
        #expect(try await store.releaseClaim(key: "key-1", requestId: "r1", owner: workerA) == false)
        try await store.recordAttemptEnded(key: "key-1", owner: workerA, inDoubt: false)
        // Only the owner, for the request that holds the claim, can release it.
        #expect(try await store.releaseClaim(key: "key-1", requestId: "r1", owner: workerB) == false)
        #expect(try await store.releaseClaim(key: "key-1", requestId: "r2", owner: workerA) == false)
        #expect(try await store.releaseClaim(key: "key-1", requestId: "r1", owner: workerA))
        #expect(try await store.lookup(key: "key-1") == nil)
        // Released: the next request claims the key afresh.
        #expect(try await store.claim(request("r2", owner: workerB, at: 1)).kind == "claimed")

        // A claim with a call pending, or in doubt, is never released.
        _ = try await store.claim(request("r3", key: "key-3"))
        #expect(try await store.releaseClaim(key: "key-3", requestId: "r3", owner: workerA) == false)
        try await store.recordAttemptEnded(key: "key-3", owner: workerA, inDoubt: true)
        #expect(try await store.releaseClaim(key: "key-3", requestId: "r3", owner: workerA) == false)
        #expect(try await store.lookup(key: "key-3")?.state == .claimed)
        // One whose attempts (the claim's, then a retry) certainly placed no call is.
        _ = try await store.claim(request("r4", key: "key-4"))
        try await store.recordAttemptEnded(key: "key-4", owner: workerA, inDoubt: false)
        _ = try await store.recordAttemptStarted(key: "key-4", owner: workerA)
        try await store.recordAttemptEnded(key: "key-4", owner: workerA, inDoubt: false)
        #expect(try await store.releaseClaim(key: "key-4", requestId: "r4", owner: workerA))
    }

    static func expiredLeaseWithoutCallIsPlainTakeover(_ store: any IdempotencyStore) async throws {
        _ = try await store.claim(request("r1"))
        // The claim's attempt ended certainly without a call (say, the token
        // fetch failed); the lease ends at 30 s: no call can have been placed.
        try await store.recordAttemptEnded(key: "key-1", owner: workerA, inDoubt: false)
        let result = try await store.claim(request("r1", owner: workerB, at: 30))
        #expect(result.kind == "claimed")
        #expect(result.record.owner == workerB && !result.record.inDoubt && !result.record.inDoubtTakeover)
        #expect(result.record.leaseExpiresAt == at(60))
        // The takeover is the next attempt's start.
        #expect(result.record.attempts == 2 && result.record.callPending)
        try await store.recordAttemptEnded(key: "key-1", owner: workerB, inDoubt: false)
        let again = try await store.claim(request("r1", owner: workerA, at: 61))
        #expect(again.kind == "claimed")
        #expect(again.record.attempts == 3)
    }

    static func expiredLeaseInDoubtReport(_ store: any IdempotencyStore) async throws {
        // A claim abandoned before it ended its first attempt: in doubt.
        _ = try await store.claim(request("r1"))
        let result = try await store.claim(request("r1", owner: workerB, at: 31, retry: false))
        #expect(result.kind == "inDoubt")
        let previous = try #require(result.previous)
        #expect(previous.owner == workerA && previous.callPending && previous.attempts == 1)
        #expect(result.record.owner == workerB && result.record.inDoubt && result.record.inDoubtTakeover)
        // Policy `report`: no call follows, so no attempt is noted.
        #expect(result.record.attempts == 1 && !result.record.callPending)
        #expect(try await store.lookup(key: "key-1") == result.record)
        // The new owner records indeterminate; the old owner has lost the claim.
        let done = try await store.recordOutcome(
            key: "key-1", requestId: "r1", owner: workerB, outcome: outcome(.indeterminate, attempts: 1, at: 32))
        #expect(done.outcome == .indeterminate && done.inDoubt)
        await expectStoreError("store.claim.lost") {
            _ = try await store.recordOutcome(key: "key-1", requestId: "r1", owner: workerA, outcome: outcome(.accepted, serial: "S-late"))
        }
        #expect(try await store.lookup(key: "key-1")?.outcome == .indeterminate)
    }

    static func expiredLeaseInDoubtRetry(_ store: any IdempotencyStore) async throws {
        _ = try await store.claim(request("r1"))
        try await store.recordAttemptEnded(key: "key-1", owner: workerA, inDoubt: true)
        // A new request with the same fingerprint meets the abandoned claim.
        let result = try await store.claim(request("r2", owner: workerB, at: 45, retry: true))
        #expect(result.kind == "claimedInDoubt")
        #expect(result.previous?.requestId == "r1")
        #expect(result.record.requestId == "r2" && result.record.owner == workerB && result.record.inDoubtTakeover)
        // The takeover is the next attempt's start.
        #expect(result.record.attempts == 2 && result.record.callPending)
        #expect(try await store.lookup(key: "key-1") == result.record)
        let done = try await store.recordOutcome(
            key: "key-1", requestId: "r2", owner: workerB, outcome: outcome(.accepted, serial: "S-2", attempts: 1, at: 46))
        #expect(done.outcome == .accepted && done.inDoubt)
    }

    static func restartedWorkerIsInDoubtAtOnce(_ store: any IdempotencyStore) async throws {
        let restarted = StoreOwner(worker: workerA.worker, incarnation: "a-2")
        _ = try await store.claim(request("r1"))
        // Lease still live, but the same worker in a new process: the old process is gone.
        let result = try await store.claim(request("r1", owner: restarted, at: 2))
        #expect(result.kind == "inDoubt")
        #expect(result.record.owner == restarted)
        // With its attempt ended certainly without a call, the restarted
        // worker simply takes the claim back.
        _ = try await store.claim(request("r2", key: "key-2"))
        try await store.recordAttemptEnded(key: "key-2", owner: workerA, inDoubt: false)
        let plain = try await store.claim(request("r2", key: "key-2", owner: restarted, at: 2))
        #expect(plain.kind == "claimed")
        #expect(plain.record.owner == restarted)
    }

    static func leaseRenewal(_ store: any IdempotencyStore) async throws {
        _ = try await store.claim(request("r1"))
        #expect(try await store.renewLease(key: "key-1", owner: workerA, until: at(90)))
        #expect(try await store.lookup(key: "key-1")?.leaseExpiresAt == at(90))
        // Past the first lease but within the renewed one: still in flight.
        #expect(try await store.claim(request("r1", owner: workerB, at: 60)).kind == "inFlight")
        #expect(try await store.renewLease(key: "key-1", owner: workerB, until: at(500)) == false)
        #expect(try await store.renewLease(key: "missing", owner: workerA, until: at(500)) == false)
        // After the renewed lease ends, the claim is taken over and the old owner can no longer renew.
        #expect(try await store.claim(request("r1", owner: workerB, at: 90)).kind == "inDoubt")
        #expect(try await store.renewLease(key: "key-1", owner: workerA, until: at(500)) == false)
        #expect(try await store.lookup(key: "key-1")?.leaseExpiresAt == at(120))
    }

    static func ownerGuard(_ store: any IdempotencyStore) async throws {
        _ = try await store.claim(request("r1"))
        await expectStoreError("store.claim.lost") {
            _ = try await store.recordAttemptStarted(key: "key-1", owner: workerB)
        }
        await expectStoreError("store.claim.lost") {
            try await store.recordAttemptEnded(key: "key-1", owner: workerB, inDoubt: false)
        }
        await expectStoreError("store.claim.lost") {
            _ = try await store.recordOutcome(key: "key-1", requestId: "r1", owner: workerB, outcome: outcome(.accepted))
        }
        await expectStoreError("store.claim.lost") {
            _ = try await store.recordOutcome(key: "key-1", requestId: "r-other", owner: workerA, outcome: outcome(.accepted))
        }
        await expectStoreError("store.claim.lost") {
            _ = try await store.recordOutcome(key: "missing", requestId: "r1", owner: workerA, outcome: outcome(.accepted))
        }
        #expect(try await store.lookup(key: "key-1")?.state == .claimed)
        let done = try await store.recordOutcome(key: "key-1", requestId: "r1", owner: workerA, outcome: outcome(.accepted, serial: "S-1"))
        // Repeating the same completion is harmless; a different owner still is refused.
        #expect(try await store.recordOutcome(key: "key-1", requestId: "r1", owner: workerA, outcome: outcome(.accepted, serial: "S-1")) == done)
        await expectStoreError("store.claim.lost") {
            _ = try await store.recordOutcome(key: "key-1", requestId: "r1", owner: workerB, outcome: outcome(.failed))
        }
        await expectStoreError("store.claim.lost") {
            _ = try await store.recordAttemptStarted(key: "key-1", owner: workerA)
        }
        #expect(try await store.lookup(key: "key-1") == done)
    }

    static func attemptsAndDoubt(_ store: any IdempotencyStore) async throws {
        // The claim is the first attempt's start.
        let claimed = try await store.claim(request("r1"))
        #expect(claimed.record.attempts == 1)
        var stored = try #require(try await store.lookup(key: "key-1"))
        #expect(stored.attempts == 1 && stored.callPending && !stored.inDoubt)
        try await store.recordAttemptEnded(key: "key-1", owner: workerA, inDoubt: false)
        stored = try #require(try await store.lookup(key: "key-1"))
        #expect(!stored.callPending && !stored.inDoubt)
        #expect(try await store.recordAttemptStarted(key: "key-1", owner: workerA) == 2)
        // Beginning another attempt while one was never ended: the unended one is in doubt.
        #expect(try await store.recordAttemptStarted(key: "key-1", owner: workerA) == 3)
        stored = try #require(try await store.lookup(key: "key-1"))
        #expect(stored.callPending && stored.inDoubt)
        // An answered attempt (accepted) needs no end; the outcome clears the pending call.
        _ = try await store.claim(request("r2", key: "key-2"))
        let accepted = try await store.recordOutcome(key: "key-2", requestId: "r2", owner: workerA, outcome: outcome(.accepted, serial: "S-2"))
        #expect(!accepted.callPending && !accepted.inDoubt && accepted.attempts == 1)
    }

    static func retentionAndSweep(_ store: any IdempotencyStore) async throws {
        let hour: TimeInterval = 3600
        #expect(store.retention == retention)
        try await complete(store, "r1", outcome: outcome(.accepted, serial: "S-1", at: 10))
        _ = try await store.claim(request("r2", key: "live", at: 0))  // renewed below: live for long
        #expect(try await store.renewLease(key: "live", owner: workerA, until: at(10 * hour)))
        _ = try await store.claim(request("r3", key: "abandoned", at: 0))  // lease ends at 30 s
        #expect(try await store.sweep(now: at(hour - 1)) == 0)
        // A new request for a key past retention (not yet swept) claims it afresh.
        #expect(try await store.claim(request("r9", key: "key-1", owner: workerB, at: hour + 10)).kind == "claimed")
        #expect(try await store.lookup(key: "key-1")?.requestId == "r9")

        try await complete(store, "r4", key: "old", outcome: outcome(.rejected, at: 20))
        #expect(try await store.sweep(now: at(hour + 19)) == 1)  // only "abandoned"
        #expect(try await store.lookup(key: "abandoned") == nil)
        #expect(try await store.sweep(now: at(hour + 20)) == 1)  // "old"
        #expect(try await store.lookup(key: "old") == nil)
        #expect(try await store.lookup(key: "live") != nil)
        #expect(try await store.lookup(key: "key-1") != nil)
        #expect(try await store.sweep(now: at(hour + 20)) == 0)
    }

    static func callSerialLookup(_ store: any IdempotencyStore) async throws {
        let done = try await complete(store, "r1", outcome: outcome(.accepted, serial: "S-1"))
        try await complete(store, "r2", key: "key-2", outcome: outcome(.accepted, serial: "S-2"))
        #expect(try await store.record(forCallSerialNo: "S-1") == done)
        #expect(try await store.record(forCallSerialNo: "S-2")?.key == "key-2")
        #expect(try await store.record(forCallSerialNo: "S-unknown") == nil)
    }

    static func resolveInDoubt(_ store: any IdempotencyStore) async throws {
        try await complete(store, "r1", outcome: outcome(.indeterminate))
        #expect(try await store.record(forCallSerialNo: "S-1") == nil)
        let resolved = try #require(try await store.resolveInDoubt(key: "key-1", callSerialNo: "S-1"))
        #expect(resolved.callSerialNo == "S-1" && resolved.outcome == .indeterminate)
        #expect(resolved.result == outcome(.indeterminate).result)
        #expect(try await store.record(forCallSerialNo: "S-1") == resolved)
        #expect(try await store.resolveInDoubt(key: "key-1", callSerialNo: "S-1") == resolved)
        #expect(try await store.resolveInDoubt(key: "key-1", callSerialNo: "S-other") == nil)
        let duplicate = try await store.claim(request("r2", owner: workerB, at: 5))
        #expect(duplicate.kind == "duplicate")
        #expect(duplicate.record.callSerialNo == "S-1" && duplicate.record.requestId == "r1")
        // Nothing to resolve: accepted keys, claims, unknown keys.
        try await complete(store, "r3", key: "key-3", outcome: outcome(.accepted, serial: "S-3"))
        #expect(try await store.resolveInDoubt(key: "key-3", callSerialNo: "S-x") == nil)
        _ = try await store.claim(request("r4", key: "key-4"))
        #expect(try await store.resolveInDoubt(key: "key-4", callSerialNo: "S-y") == nil)
        #expect(try await store.resolveInDoubt(key: "missing", callSerialNo: "S-z") == nil)
        #expect(try await store.lookup(key: "key-3")?.callSerialNo == "S-3")
    }

    static func concurrentClaims(_ store: any IdempotencyStore) async throws {
        let results = try await withThrowingTaskGroup(of: ClaimResult.self) { group in
            for index in 0..<50 {
                group.addTask {
                    let owner = StoreOwner(worker: "worker-\(index)", incarnation: "i-\(index)")
                    return try await store.claim(StoreContract.request("r-\(index)", key: "contended", owner: owner, at: 0))
                }
            }
            var results: [ClaimResult] = []
            for try await result in group { results.append(result) }
            return results
        }
        let claimed = results.filter { $0.kind == "claimed" }
        #expect(claimed.count == 1)
        #expect(results.filter { $0.kind == "inFlight" }.count == 49)
        let winner = try #require(claimed.first)
        #expect(try await store.lookup(key: "contended")?.owner == winner.record.owner)
        #expect(results.allSatisfy { $0.record.owner == winner.record.owner })
    }

    // MARK: Storm budget (product §10)

    static func stormBudgetPerNumber(_ store: any IdempotencyStore) async throws {
        var kinds: [String] = []
        for index in 0..<5 {
            kinds.append(try await store.claim(stormRequest("r-\(index)", key: "k-\(index)", at: Double(index))).kind)
        }
        #expect(kinds == ["claimed", "claimed", "claimed", "suppressed", "suppressed"])
        // A suppressed claim makes no call: it notes no attempt.
        let suppressed = try #require(try await store.lookup(key: "k-4"))
        #expect(suppressed.attempts == 0 && !suppressed.callPending && suppressed.state == .claimed)
        // Another number has its own budget; a request not held to one (bypass) always claims.
        #expect(try await store.claim(stormRequest("o-1", key: "o-1", called: "+8613800000002", at: 5)).kind == "claimed")
        #expect(try await store.claim(request("b-1", key: "b-1", at: 5)).kind == "claimed")
        // A suppressed claim is held like any claim: its outcome is recorded and remembered.
        _ = try await store.recordOutcome(key: "k-3", requestId: "r-3", owner: workerA, outcome: outcome(.suppressed, attempts: 0, at: 6))
        #expect(try await store.claim(stormRequest("r-3", key: "k-3", at: 7)).kind == "completed")
        let duplicate = try await store.claim(stormRequest("r-3b", key: "k-3", at: 7))
        #expect(duplicate.kind == "duplicate" && duplicate.record.outcome == .suppressed)
    }

    static func stormWindowSlides(_ store: any IdempotencyStore) async throws {
        for index in 0..<3 {
            #expect(try await store.claim(stormRequest("r-\(index)", key: "k-\(index)", at: Double(index * 10))).kind == "claimed")
        }
        // At 59.9 s all three are still in the window; at exactly 60 s the first has left it.
        #expect(try await store.claim(stormRequest("r-3", key: "k-3", at: 59.9)).kind == "suppressed")
        #expect(try await store.claim(stormRequest("r-4", key: "k-4", at: 60)).kind == "claimed")
        #expect(try await store.claim(stormRequest("r-5", key: "k-5", at: 65)).kind == "suppressed")
        #expect(try await store.claim(stormRequest("r-6", key: "k-6", at: 70)).kind == "claimed")
    }

    static func stormSlotFreedByFailure(_ store: any IdempotencyStore) async throws {
        for index in 0..<3 {
            _ = try await store.claim(stormRequest("r-\(index)", key: "k-\(index)"))
        }
        #expect(try await store.claim(stormRequest("r-3", key: "k-3", at: 1)).kind == "suppressed")
        // A failed outcome not in doubt placed no call: its slot goes back.
        try await store.recordAttemptEnded(key: "k-0", owner: workerA, inDoubt: false)
        _ = try await store.recordOutcome(key: "k-0", requestId: "r-0", owner: workerA, outcome: outcome(.failed, at: 2))
        #expect(try await store.claim(stormRequest("r-4", key: "k-4", at: 3)).kind == "claimed")
        // So does a released claim (expired while backing off, a revoked partition).
        try await store.recordAttemptEnded(key: "k-1", owner: workerA, inDoubt: false)
        #expect(try await store.releaseClaim(key: "k-1", requestId: "r-1", owner: workerA))
        #expect(try await store.claim(stormRequest("r-5", key: "k-5", at: 4)).kind == "claimed")
        // An accepted call keeps its slot.
        _ = try await store.recordOutcome(key: "k-2", requestId: "r-2", owner: workerA, outcome: outcome(.accepted, serial: "S-2", at: 5))
        #expect(try await store.claim(stormRequest("r-6", key: "k-6", at: 6)).kind == "suppressed")
    }

    static func stormInDoubtCounts(_ store: any IdempotencyStore) async throws {
        for index in 0..<3 {
            _ = try await store.claim(stormRequest("r-\(index)", key: "k-\(index)"))
        }
        // A call in doubt counts as placed, also when its outcome is failed.
        try await store.recordAttemptEnded(key: "k-0", owner: workerA, inDoubt: true)
        _ = try await store.recordOutcome(key: "k-0", requestId: "r-0", owner: workerA, outcome: outcome(.failed, inDoubt: true, at: 2))
        _ = try await store.recordOutcome(key: "k-1", requestId: "r-1", owner: workerA, outcome: outcome(.indeterminate, inDoubt: true, at: 2))
        #expect(try await store.claim(stormRequest("r-3", key: "k-3", at: 3)).kind == "suppressed")
    }

    static func stormTakeoverCountsOnce(_ store: any IdempotencyStore) async throws {
        for index in 0..<3 {
            _ = try await store.claim(stormRequest("r-\(index)", key: "k-\(index)"))
        }
        // Worker A's claim of k-0 lapsed after its attempt ended without a
        // call: B takes it over without a second slot.
        try await store.recordAttemptEnded(key: "k-0", owner: workerA, inDoubt: false)
        let takeover = try await store.claim(stormRequest("r-0", key: "k-0", owner: workerB, at: 31))
        #expect(takeover.kind == "claimed")
        #expect(try await store.claim(stormRequest("r-3", key: "k-3", owner: workerB, at: 32)).kind == "suppressed")
    }

    static func stormConcurrentClaims(_ store: any IdempotencyStore) async throws {
        let results = try await withThrowingTaskGroup(of: ClaimResult.self) { group in
            for index in 0..<40 {
                group.addTask {
                    let owner = StoreOwner(worker: "worker-\(index % 4)", incarnation: "i-\(index % 4)")
                    return try await store.claim(StoreContract.stormRequest("r-\(index)", key: "k-\(index)", owner: owner, at: 0))
                }
            }
            var results: [ClaimResult] = []
            for try await result in group { results.append(result) }
            return results
        }
        // Forty claims for one number at once: exactly the budget is taken.
        #expect(results.filter { $0.kind == "claimed" }.count == 3)
        #expect(results.filter { $0.kind == "suppressed" }.count == 37)
    }

    static func stormSweep(_ store: any IdempotencyStore) async throws {
        for index in 0..<3 {
            _ = try await store.claim(stormRequest("r-\(index)", key: "k-\(index)"))
            _ = try await store.recordOutcome(key: "k-\(index)", requestId: "r-\(index)", owner: workerA, outcome: outcome(.accepted, serial: "S-\(index)", at: 1))
        }
        // Past retention the keys and their slots are swept: 3 keys + 3 slots.
        #expect(try await store.sweep(now: at(retention.timeInterval + 10)) == 6)
    }

    /// A request has one result: the same requestId again, even with other
    /// content, republishes it (another request with that content conflicts).
    static func redeliveryWithChangedContentIsCompleted(_ store: any IdempotencyStore) async throws {
        let done = try await complete(store, "r1", outcome: outcome(.accepted, serial: "S-1"))
        let again = try await store.claim(request("r1", fingerprint: "fp-changed", owner: workerB, at: 5))
        #expect(again.kind == "completed")
        #expect(again.record == done)
        #expect(try await store.claim(request("r2", fingerprint: "fp-changed", owner: workerB, at: 6)).kind == "conflict")
    }

    /// The claiming dispatch's W3C trace context is kept with the claim and
    /// through the outcome (a status report links back to it, product §11);
    /// a takeover keeps the new claimer's; a claim without one keeps none.
    static func traceContextKeptWithTheClaim(_ store: any IdempotencyStore) async throws {
        let parentA = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        var claim = request("r1")
        claim.traceParent = parentA
        claim.traceState = "vendor=abc,other=x y"
        #expect(try await store.claim(claim).record.traceParent == parentA)
        let done = try await store.recordOutcome(key: "key-1", requestId: "r1", owner: workerA, outcome: outcome(.accepted, serial: "S-1"))
        #expect(done.traceParent == parentA && done.traceState == "vendor=abc,other=x y")
        #expect(try await store.lookup(key: "key-1")?.traceParent == parentA)
        #expect(try await store.record(forCallSerialNo: "S-1")?.traceState == "vendor=abc,other=x y")
        // A lapsed claim taken over by another worker: the new dispatch's context.
        let parentB = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
        _ = try await store.claim(request("r2", key: "key-2"))
        try await store.recordAttemptEnded(key: "key-2", owner: workerA, inDoubt: false)
        var takeover = request("r2", key: "key-2", owner: workerB, at: 31)
        takeover.traceParent = parentB
        #expect(try await store.claim(takeover).kind == "claimed")
        let taken = try #require(try await store.lookup(key: "key-2"))
        #expect(taken.traceParent == parentB && taken.traceState == nil)
        // None given, none kept.
        _ = try await store.claim(request("r3", key: "key-3"))
        #expect(try await store.lookup(key: "key-3")?.traceParent == nil)
    }

    static func closed(_ store: any IdempotencyStore) async throws {
        _ = try await store.claim(request("r1"))
        await store.close()
        await store.close()
        await expectStoreError("store.closed") {
            _ = try await store.claim(request("r2", key: "key-2"))
        }
        await expectStoreError("store.closed") {
            _ = try await store.lookup(key: "key-1")
        }
    }
}
