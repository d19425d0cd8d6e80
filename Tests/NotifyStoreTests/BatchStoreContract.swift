import Foundation
import NotifyCore
import NotifyStore
import ServiceLifecycle
import Testing

/// The batch operations of every ``IdempotencyStore`` (issue 25):
/// `claim(batch:)`, `renewLeases(keys:owner:until:)` and `recordOutcomes(_:)`
/// must answer exactly what the single operations answer one after another,
/// under contention too. Each store's suite runs every ``Scenario`` with a
/// factory for fresh, empty stores with ``StoreContract/retention``.
struct BatchStoreContract: Sendable {
    typealias Store = any IdempotencyStore

    /// Makes a fresh, empty store with ``StoreContract/retention``.
    let makeStore: @Sendable () async throws -> Store

    enum Scenario: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case batchesAnswerAsTheSequenceDoes, concurrentBatchesClaimEachKeyOnce, takeoverOfABatch
        case oneKeyTwiceInABatch, outcomesAnswerEachOnItsOwn, emptyBatches, stormInBatchOrder

        var testDescription: String { self.rawValue }
    }

    func run(_ scenario: Scenario) async throws {
        switch scenario {
        case .batchesAnswerAsTheSequenceDoes:
            // Two stores: one driven by single operations, one by batches.
            let single = try await self.makeStore()
            let batched = try await self.makeStore()
            try await Self.running([single, batched]) {
                var seen: Set<String> = []
                for seed in 1...12 as ClosedRange<UInt64> {
                    seen.formUnion(try await Self.batchesAnswerAsTheSequenceDoes(seed: seed, single: single, batched: batched))
                }
                // The script reached every answer, or it would prove little.
                let every: Set<String> = [
                    "claimed", "completed", "duplicate", "conflict", "inFlight", "inDoubt", "claimedInDoubt", "suppressed",
                    "stored", "store.claim.lost", "renewed", "not renewed",
                ]
                #expect(seen.isSuperset(of: every), "not reached: \(every.subtracting(seen).sorted())")
            }
        case .concurrentBatchesClaimEachKeyOnce:
            let store = try await self.makeStore()
            try await Self.running([store]) { try await Self.concurrentBatchesClaimEachKeyOnce(store) }
        case .takeoverOfABatch:
            let store = try await self.makeStore()
            try await Self.running([store]) { try await Self.takeoverOfABatch(store) }
        case .oneKeyTwiceInABatch:
            let store = try await self.makeStore()
            try await Self.running([store]) { try await Self.oneKeyTwiceInABatch(store) }
        case .outcomesAnswerEachOnItsOwn:
            let store = try await self.makeStore()
            try await Self.running([store]) { try await Self.outcomesAnswerEachOnItsOwn(store) }
        case .stormInBatchOrder:
            let store = try await self.makeStore()
            try await Self.running([store]) { try await Self.stormInBatchOrder(store) }
        case .emptyBatches:
            let store = try await self.makeStore()
            try await Self.running([store]) { () async throws in
                #expect(try await store.claim(batch: []).isEmpty)
                #expect(try await store.recordOutcomes([]).isEmpty)
                #expect(try await store.renewLeases(keys: [], owner: StoreContract.workerA, until: StoreContract.t0).isEmpty)
            }
        }
    }

    /// Runs `body` while each store's `run()` runs, then closes them.
    static func running(_ stores: [Store], _ body: @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores {
                group.addTask { try await store.run() }
            }
            do {
                try await body()
            } catch {
                for store in stores { await store.close() }
                group.cancelAll()
                throw error
            }
            for store in stores { await store.close() }
            group.cancelAll()
        }
    }

    // MARK: Scenarios

    /// A seeded script of claim, outcome and renewal batches — fresh keys,
    /// redeliveries, other fingerprints, other owners, restarted owners,
    /// lapsed leases, both in-doubt policies, storm budgets, lost claims, one
    /// key twice in a batch — played on one store with single operations in
    /// order and on another with batches: every answer and every row equal.
    /// Returns the kinds of answer it saw.
    static func batchesAnswerAsTheSequenceDoes(seed: UInt64, single: Store, batched: Store) async throws -> Set<String> {
        var seen: Set<String> = []
        var random = SplitMix64(seed: seed)
        let keys = (0..<6).map { "s\(seed)-k\($0)" }
        let owners = [
            StoreContract.workerA, StoreContract.workerB, StoreOwner(worker: "worker-a", incarnation: "a-2"),
        ]
        var clock: TimeInterval = 0
        var claims: [String: (requestId: String, owner: StoreOwner)] = [:]
        var requestNumber = 0
        for step in 0..<14 {
            // Time moves on; now and then past every lease (30 s).
            clock += random.next(upTo: 4) == 0 ? 45 : Double(random.next(upTo: 5))
            let owner = owners[random.next(upTo: owners.count)]
            switch random.next(upTo: 3) {
            case 0, 1:
                var requests: [ClaimRequest] = []
                for _ in 0..<(1 + random.next(upTo: 6)) {
                    let key = keys[random.next(upTo: keys.count)]
                    // Mostly a new request for the key, sometimes a redelivery of the last one.
                    let requestId: String
                    if let last = claims[key], random.next(upTo: 3) == 0 {
                        requestId = last.requestId
                    } else {
                        requestNumber += 1
                        requestId = "s\(seed)-r\(requestNumber)"
                    }
                    var request = StoreContract.request(
                        requestId, key: key, fingerprint: random.next(upTo: 8) == 0 ? "fp-other" : "fp-1", owner: owner,
                        at: clock, retry: random.next(upTo: 2) == 0)
                    if random.next(upTo: 2) == 0 {
                        request.storm = StormClaim(called: "+861380000000\(random.next(upTo: 2))", budget: StoreContract.budget)
                    }
                    requests.append(request)
                }
                var expected: [ClaimResult] = []
                for request in requests {
                    expected.append(try await single.claim(request))
                }
                let answered = try await batched.claim(batch: requests)
                #expect(answered == expected, "seed \(seed), step \(step): claims of \(requests.map(\.key))")
                seen.formUnion(expected.map(\.kind))
                for (request, result) in zip(requests, expected) {
                    switch result {
                    case .claimed, .claimedInDoubt, .inDoubt, .suppressed:
                        claims[request.key] = (request.requestId, request.owner)
                    default:
                        break
                    }
                }
            case 2:
                // Outcomes for claims made, some by another owner (lost claims).
                var recordings: [OutcomeRecording] = []
                for key in keys.shuffled(using: &random) where random.next(upTo: 2) == 0 {
                    guard let claim = claims[key] else { continue }
                    let outcomes: [NotificationResult.Outcome] = [.accepted, .failed, .rejected, .indeterminate, .suppressed]
                    let outcome = StoreContract.outcome(
                        outcomes[random.next(upTo: outcomes.count)], serial: "serial-\(key)-\(step)",
                        inDoubt: random.next(upTo: 4) == 0, at: clock)
                    let by = random.next(upTo: 5) == 0 ? owners[random.next(upTo: owners.count)] : claim.owner
                    recordings.append(OutcomeRecording(key: key, requestId: claim.requestId, owner: by, outcome: outcome))
                    if random.next(upTo: 5) == 0 { recordings.append(recordings[recordings.count - 1]) }
                }
                var expected: [Answer] = []
                for recording in recordings {
                    do {
                        expected.append(.stored(try await single.recordOutcome(
                            key: recording.key, requestId: recording.requestId, owner: recording.owner, outcome: recording.outcome)))
                    } catch {
                        expected.append(.failed(error.code))
                    }
                }
                let answered = try await batched.recordOutcomes(recordings).map(Answer.init)
                #expect(answered == expected, "seed \(seed), step \(step): outcomes of \(recordings.map(\.key))")
                for answer in expected {
                    switch answer {
                    case .stored: seen.insert("stored")
                    case .failed(let code): seen.insert(code)
                    }
                }
            default:
                break
            }
            if random.next(upTo: 3) == 0 {
                let renewing = keys.filter { _ in random.next(upTo: 2) == 0 }
                let until = StoreContract.at(clock + 30)
                var expected: Set<String> = []
                for key in renewing where try await single.renewLease(key: key, owner: owner, until: until) {
                    expected.insert(key)
                }
                #expect(try await batched.renewLeases(keys: renewing, owner: owner, until: until) == expected, "seed \(seed), step \(step): renewals")
                if !expected.isEmpty { seen.insert("renewed") }
                if expected.count < renewing.count { seen.insert("not renewed") }
            }
        }
        for key in keys {
            #expect(try await batched.lookup(key: key) == (try await single.lookup(key: key)), "seed \(seed): row \(key)")
        }
        return seen
    }

    /// 40 workers claim the same 12 keys at once, each in its own order, six
    /// of them held to one number's budget (3 calls): each key is claimed by
    /// exactly one of them, the number rings 3 times, nobody fails.
    static func concurrentBatchesClaimEachKeyOnce(_ store: Store) async throws {
        let keys = (0..<12).map { "k\($0)" }
        let held: Set<String> = ["k0", "k1", "k2", "k3", "k4", "k5"]
        let answers = try await withThrowingTaskGroup(of: [ClaimResult].self) { group in
            for worker in 0..<40 {
                group.addTask {
                    var random = SplitMix64(seed: UInt64(worker) + 100)
                    let owner = StoreOwner(worker: "worker-\(worker)", incarnation: "i-\(worker)")
                    let requests = keys.shuffled(using: &random).map { key in
                        var request = StoreContract.request("r-\(key)", key: key, owner: owner, at: 0)
                        if held.contains(key) {
                            request.storm = StormClaim(called: "+8613800000001", budget: StoreContract.budget)
                        }
                        return request
                    }
                    return try await store.claim(batch: requests)
                }
            }
            var all: [ClaimResult] = []
            for try await answer in group { all.append(contentsOf: answer) }
            return all
        }
        for key in keys {
            let mine = answers.filter { $0.record.key == key }
            let takers = mine.filter { $0.kind == "claimed" || $0.kind == "suppressed" }
            #expect(mine.count == 40 && takers.count == 1, "\(key): \(mine.map(\.kind))")
            let owner = try #require(try await store.lookup(key: key)).owner
            #expect(takers.first?.record.owner == owner)
        }
        let budgeted = answers.filter { held.contains($0.record.key) }
        #expect(budgeted.filter { $0.kind == "claimed" }.count == 3)
        #expect(budgeted.filter { $0.kind == "suppressed" }.count == 3)
    }

    /// Worker A's batch is abandoned (its leases lapse); worker B takes it
    /// over in one batch: each key in doubt (A's claim was its first attempt),
    /// a fresh key among them claimed. A can renew and record nothing of it.
    static func takeoverOfABatch(_ store: Store) async throws {
        let a = StoreContract.workerA, b = StoreContract.workerB
        let first = try await store.claim(batch: ["k1", "k2", "k3"].map { StoreContract.request("r-\($0)", key: $0, owner: a, at: 0) })
        #expect(first.map(\.kind) == ["claimed", "claimed", "claimed"])
        #expect(try await store.renewLeases(keys: ["k1", "k2", "k3", "missing"], owner: a, until: StoreContract.at(60)) == ["k1", "k2", "k3"])
        #expect(try await store.lookup(key: "k2")?.leaseExpiresAt == StoreContract.at(60))
        // Within the renewed lease, B's batch finds them in flight.
        let early = try await store.claim(batch: ["k1", "k2"].map { StoreContract.request("r-\($0)", key: $0, owner: b, at: 45) })
        #expect(early.map(\.kind) == ["inFlight", "inFlight"])
        let takeover = try await store.claim(batch: [
            StoreContract.request("r-k1", key: "k1", owner: b, at: 61),
            StoreContract.request("r-k4", key: "k4", owner: b, at: 61),
            StoreContract.request("r-k2", key: "k2", owner: b, at: 61, retry: true),
            StoreContract.request("r-k3", key: "k3", owner: b, at: 61),
        ])
        #expect(takeover.map(\.kind) == ["inDoubt", "claimed", "claimedInDoubt", "inDoubt"])
        #expect(takeover.allSatisfy { $0.record.owner == b })
        #expect(takeover[0].previous?.owner == a)
        #expect(try await store.renewLeases(keys: ["k1", "k2", "k3"], owner: a, until: StoreContract.at(120)).isEmpty)
        let lost = try await store.recordOutcomes(["k1", "k2", "k3"].map {
            OutcomeRecording(key: $0, requestId: "r-\($0)", owner: a, outcome: StoreContract.outcome(.accepted, serial: "a-\($0)", at: 62))
        })
        #expect(lost.map(Answer.init) == Array(repeating: .failed("store.claim.lost"), count: 3))
        let done = try await store.recordOutcomes([
            OutcomeRecording(key: "k1", requestId: "r-k1", owner: b, outcome: StoreContract.outcome(.indeterminate, inDoubt: true, attempts: 1, at: 63)),
            OutcomeRecording(key: "k2", requestId: "r-k2", owner: b, outcome: StoreContract.outcome(.accepted, serial: "b-k2", attempts: 2, at: 63)),
        ])
        let k1 = try done[0].get(), k2 = try done[1].get()
        #expect(k1.state == .done && k1.outcome == .indeterminate && k1.inDoubt)
        #expect(k2.outcome == .accepted && k2.callSerialNo == "b-k2" && k2.inDoubt && k2.attempts == 2 && k2.owner == b)
        #expect(try await store.lookup(key: "k2") == k2)
    }

    /// A redelivery inside the poll that brought the original: the second is
    /// in flight (this very process holds the first); its outcome twice in
    /// one batch is recorded once and answered twice.
    static func oneKeyTwiceInABatch(_ store: Store) async throws {
        let answers = try await store.claim(batch: [
            StoreContract.request("r1", key: "k", at: 0), StoreContract.request("r2", key: "other", at: 0),
            StoreContract.request("r1", key: "k", at: 0), StoreContract.request("r3", key: "k", fingerprint: "fp-2", at: 0),
        ])
        #expect(answers.map(\.kind) == ["claimed", "claimed", "inFlight", "conflict"])
        #expect(answers[2].record == answers[0].record)
        let recording = OutcomeRecording(key: "k", requestId: "r1", owner: StoreContract.workerA, outcome: StoreContract.outcome(.accepted, serial: "9"))
        let recorded = try await store.recordOutcomes([recording, recording])
        #expect(try recorded[0].get() == (try recorded[1].get()))
        #expect(try recorded[0].get().outcome == .accepted)
        let again = try await store.claim(batch: [StoreContract.request("r1", key: "k", at: 2), StoreContract.request("r4", key: "k", at: 2)])
        #expect(again.map(\.kind) == ["completed", "duplicate"])
    }

    /// A lost claim among good outcomes fails alone; the outcome that frees a
    /// storm slot frees it, the one that does not keeps it.
    static func outcomesAnswerEachOnItsOwn(_ store: Store) async throws {
        let claims = try await store.claim(batch: (0..<3).map { StoreContract.stormRequest("r\($0)", key: "k\($0)", at: 0) })
        #expect(claims.map(\.kind) == ["claimed", "claimed", "claimed"])
        #expect(try await store.claim(StoreContract.stormRequest("r3", key: "k3", at: 1)).kind == "suppressed")
        let answers = try await store.recordOutcomes([
            OutcomeRecording(key: "k0", requestId: "r0", owner: StoreContract.workerA, outcome: StoreContract.outcome(.failed, at: 2)),
            OutcomeRecording(key: "k1", requestId: "r1", owner: StoreContract.workerB, outcome: StoreContract.outcome(.accepted, serial: "1", at: 2)),
            OutcomeRecording(key: "k2", requestId: "r2", owner: StoreContract.workerA, outcome: StoreContract.outcome(.accepted, serial: "2", at: 2)),
            OutcomeRecording(key: "nowhere", requestId: "rx", owner: StoreContract.workerA, outcome: StoreContract.outcome(.accepted, at: 2)),
        ])
        #expect(try answers[0].get().outcome == .failed)
        #expect(Answer(answers[1]) == .failed("store.claim.lost"))
        #expect(try answers[2].get().callSerialNo == "2")
        #expect(Answer(answers[3]) == .failed("store.claim.lost"))
        #expect(try await store.lookup(key: "k1")?.state == .claimed)
        // k0 failed (no call): its slot is free again, so one more call fits; then none.
        #expect(try await store.claim(StoreContract.stormRequest("r5", key: "k5", at: 3)).kind == "claimed")
        #expect(try await store.claim(StoreContract.stormRequest("r6", key: "k6", at: 3)).kind == "suppressed")
    }
}

extension BatchStoreContract {
    /// The storm budget admits a batch's claims in the batch's order, not the
    /// keys' (nor the numbers' locks'); a key twice in a batch is judged where
    /// it stands; an empty trace state is kept as it came.
    static func stormInBatchOrder(_ store: Store) async throws {
        let answers = try await store.claim(batch: ["b", "a", "c", "0"].map { StoreContract.stormRequest("r-\($0)", key: $0, at: 0) })
        #expect(answers.map(\.kind) == ["claimed", "claimed", "claimed", "suppressed"])
        #expect(answers[3].record.key == "0")

        let one = StormBudget(window: .seconds(60), burst: 1)
        func held(_ requestId: String, key: String, fingerprint: String = "fp-1") -> ClaimRequest {
            var request = StoreContract.request(requestId, key: key, fingerprint: fingerprint, at: 10)
            request.storm = StormClaim(called: "+8613800000009", budget: one)
            return request
        }
        // k failed without a call: free for its next request.
        _ = try await StoreContract.complete(store, "r-k0", key: "k", outcome: StoreContract.outcome(.failed, at: 5))
        let repeated = try await store.claim(batch: [held("r-k1", key: "k", fingerprint: "fp-2"), held("r-k2", key: "k"), held("r-m", key: "m")])
        #expect(repeated.map(\.kind) == ["conflict", "claimed", "suppressed"])

        var traced = StoreContract.request("r-t", key: "t", at: 20)
        traced.traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        traced.traceState = ""
        let stored = try await store.claim(batch: [traced, StoreContract.request("r-u", key: "u", at: 20)])
        #expect(stored[0].record.traceState == "" && stored[1].record.traceState == nil)
        #expect(try await store.lookup(key: "t")?.traceState == "")
        #expect(try await store.lookup(key: "u")?.traceParent == nil)
        let recorded = try await store.recordOutcomes([
            OutcomeRecording(key: "t", requestId: "r-t", owner: StoreContract.workerA, outcome: StoreContract.outcome(.accepted, serial: "", at: 21)),
            OutcomeRecording(key: "u", requestId: "r-u", owner: StoreContract.workerA, outcome: StoreContract.outcome(.accepted, at: 21)),
        ])
        #expect(try recorded[0].get().callSerialNo == "" && (try recorded[1].get().callSerialNo) == nil)
    }
}

/// An outcome's answer, comparable: the record, or the error's code.
enum Answer: Equatable {
    case stored(StoredRecord)
    case failed(String)

    init(_ result: Result<StoredRecord, StoreError>) {
        switch result {
        case .success(let record): self = .stored(record)
        case .failure(let error): self = .failed(error.code)
        }
    }
}

/// A small seeded generator, so that a failing script can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound`.
    mutating func next(upTo bound: Int) -> Int {
        Int(self.next() % UInt64(bound))
    }
}
