import Foundation
import NotifyCore
import NotifyStore
import NotifyStoreSQLite
import Testing

/// The store contract against real SQLite files, one fresh file per scenario.
@Suite struct SQLiteStoreContractTests {
    @Test(arguments: StoreContract.Scenario.allCases)
    func contract(_ scenario: StoreContract.Scenario) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let contract = StoreContract(makeStore: {
            try await SQLiteIdempotencyStore(
                configuration: .init(path: directory.path("store.db"), retention: StoreContract.retention),
                logger: quietLogger
            )
        })
        try await contract.run(scenario)
    }

    /// `store.url` `?synchronous=normal` reaches the connection; FULL stays
    /// the default. A store opened either way reads the other's file.
    @Test func theSynchronousLevelIsTheConfiguredOne() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("sync.db")
        let full = try await SQLiteIdempotencyStore(configuration: .init(path: path), logger: quietLogger)
        #expect(full.synchronousInEffect == .full)
        #expect(try await full.claim(StoreContract.request("r1")).kind == "claimed")
        await full.close()
        guard case .sqlite(let parsedPath, let synchronous) = try StoreURL.parse("sqlite:\(path)?synchronous=normal") else {
            Issue.record("not a SQLite URL")
            return
        }
        let normal = try await SQLiteIdempotencyStore(
            configuration: .init(path: parsedPath, synchronous: synchronous), logger: quietLogger)
        #expect(normal.synchronousInEffect == .normal)
        #expect(try await normal.lookup(key: "key-1")?.state == .claimed)
        await normal.close()
    }

    @Test func claimsOfOneStoreAreSeenByAnotherOnTheSameFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = SQLiteIdempotencyStore.Configuration(path: directory.path("shared.db"))
        let first = try await SQLiteIdempotencyStore(configuration: configuration, logger: quietLogger)
        let second = try await SQLiteIdempotencyStore(configuration: configuration, logger: quietLogger)
        #expect(try await first.claim(StoreContract.request("r1")).kind == "claimed")
        let seen = try await second.claim(StoreContract.request("r1", owner: StoreContract.workerB, at: 1))
        #expect(seen.kind == "inFlight")
        await first.close()
        await second.close()
    }

    /// Group commit: operations arriving together share transactions, yet
    /// each gets its own answer — a refused one (another owner's outcome)
    /// among accepted ones fails alone — and what was answered is on disk.
    @Test func concurrentOperationsShareCommitsButKeepTheirOwnAnswers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = SQLiteIdempotencyStore.Configuration(path: directory.path("batch.db"))
        let store = try await SQLiteIdempotencyStore(configuration: configuration, logger: quietLogger)
        let count = 300
        let claims = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<count {
                group.addTask { try await store.claim(StoreContract.request("r\(index)", key: "key-\(index)")).kind }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(claims == Array(repeating: "claimed", count: count))
        // Odd keys: worker B tries to record the outcome of A's claim.
        let answers = await withTaskGroup(of: (Int, String).self) { group in
            for index in 0..<count {
                group.addTask {
                    let owner = index.isMultiple(of: 2) ? StoreContract.workerA : StoreContract.workerB
                    do {
                        let record = try await store.recordOutcome(
                            key: "key-\(index)", requestId: "r\(index)", owner: owner,
                            outcome: StoreContract.outcome(.accepted, serial: "S-\(index)"))
                        return (index, record.callSerialNo ?? "none")
                    } catch {
                        return (index, (error as? StoreError)?.code ?? "\(error)")
                    }
                }
            }
            return await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
        }
        for index in 0..<count {
            #expect(answers[index] == (index.isMultiple(of: 2) ? "S-\(index)" : "store.claim.lost"), "key-\(index)")
        }
        await store.close()
        let reopened = try await SQLiteIdempotencyStore(configuration: configuration, logger: quietLogger)
        for index in 0..<count {
            let record = try await reopened.lookup(key: "key-\(index)")
            #expect(record?.state == (index.isMultiple(of: 2) ? .done : .claimed), "key-\(index)")
        }
        await reopened.close()
    }

    @Test func operationsOfCancelledTasksCompleteAndLeaveTheStoreUsable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteIdempotencyStore(configuration: .init(path: directory.path("cancel.db")), logger: quietLogger)
        let results = await withTaskGroup(of: String.self) { group in
            for index in 0..<10 {
                group.addTask {
                    withUnsafeCurrentTask { $0?.cancel() }
                    let result = try? await store.claim(StoreContract.request("r\(index)", key: "key-\(index)"))
                    return result?.kind ?? "error"
                }
            }
            var results: [String] = []
            for await result in group { results.append(result) }
            return results
        }
        #expect(results == Array(repeating: "claimed", count: 10))
        for index in 0..<10 {
            #expect(try await store.lookup(key: "key-\(index)")?.state == .claimed)
        }
        #expect(try await store.claim(StoreContract.request("r-next", key: "key-next")).kind == "claimed")
        await store.close()
    }

    @Test func runSweepsAndClosesOnCancellation() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteIdempotencyStore(
            configuration: .init(path: directory.path("run.db"), retention: .seconds(1), sweepInterval: .milliseconds(20)),
            logger: quietLogger
        )
        let now = Date()
        _ = try await StoreContract.complete(
            store, "r1", outcome: StoredOutcome(outcome: .accepted, inDoubt: false, attempts: 1, result: [], completedAt: now.addingTimeInterval(-5)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            // Wait (bounded) for the periodic sweep to delete the key past retention.
            var remaining = 500
            while try await store.lookup(key: "key-1") != nil, remaining > 0 {
                try await Task.sleep(for: .milliseconds(10))
                remaining -= 1
            }
            #expect(try await store.lookup(key: "key-1") == nil)
            group.cancelAll()
            try await group.waitForAll()
        }
        // run() closed the store on its way out.
        await expectStoreError("store.closed") { _ = try await store.lookup(key: "key-1") }
    }
}

/// The escalation store contract (product §12) against real SQLite files.
@Suite struct SQLiteEscalationStoreContractTests {
    @Test(arguments: EscalationStoreContract.Scenario.allCases)
    func contract(_ scenario: EscalationStoreContract.Scenario) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let contract = EscalationStoreContract(makeStore: {
            try await SQLiteIdempotencyStore(
                configuration: .init(path: directory.path("store.db"), retention: StoreContract.retention),
                logger: quietLogger
            )
        })
        try await contract.run(scenario)
    }
}

@Suite struct SQLiteBatchStoreContractTests {
    @Test(arguments: BatchStoreContract.Scenario.allCases)
    func contract(_ scenario: BatchStoreContract.Scenario) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // A fresh file per store: the sequence scenario compares two.
        let contract = BatchStoreContract(makeStore: {
            try await SQLiteIdempotencyStore(
                configuration: .init(path: directory.path("store-\(UUID().uuidString).db"), retention: StoreContract.retention),
                logger: quietLogger
            )
        })
        try await contract.run(scenario)
    }
}
