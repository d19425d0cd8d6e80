import Foundation
import NotifyCore
import NotifyStore
import ServiceLifecycle
import NotifyStorePostgres
import PostgresNIO
import TestServers
import Testing

/// The store contract against a real PostgreSQL server (Debian's, on
/// loopback; see `Tests/postgres-test-cluster.sh`), one fresh database per
/// scenario; then what only a server shows: several stores (processes) on one
/// database, migrations, and the server going away.
@Suite(.serialized) struct PostgresStoreContractTests {
    static func open(_ url: String, retention: Duration = StoreContract.retention, timeout: Duration = .seconds(10)) async throws -> PostgresIdempotencyStore {
        var configuration = try PostgresIdempotencyStore.Configuration(url: url, retention: retention)
        configuration.operationTimeout = timeout
        return try await PostgresIdempotencyStore(configuration: configuration, logger: quietLogger)
    }

    /// Runs `body` with stores on one fresh database, each store's `run()` running.
    static func withStores(
        _ count: Int, url: String? = nil, timeout: Duration = .seconds(10),
        _ body: @Sendable ([PostgresIdempotencyStore]) async throws -> Void
    ) async throws {
        let url = try url ?? PostgresTestCluster.shared().createDatabase()
        var stores: [PostgresIdempotencyStore] = []
        for _ in 0..<count {
            stores.append(try await Self.open(url, timeout: timeout))
        }
        let opened = stores
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in opened {
                group.addTask { try await store.run() }
            }
            do {
                try await body(opened)
            } catch {
                for store in opened { await store.close() }
                throw error
            }
            for store in opened { await store.close() }
            try await group.waitForAll()
        }
    }

    @Test(arguments: StoreContract.Scenario.allCases)
    func contract(_ scenario: StoreContract.Scenario) async throws {
        let url = try PostgresTestCluster.shared().createDatabase()
        let contract = StoreContract(makeStore: { try await Self.open(url) })
        try await contract.run(scenario)
    }

    @Test(arguments: BatchStoreContract.Scenario.allCases)
    func batchContract(_ scenario: BatchStoreContract.Scenario) async throws {
        // A fresh database per store: the sequence scenario compares two.
        try await BatchStoreContract(makeStore: { try await Self.open(try PostgresTestCluster.shared().createDatabase()) }).run(scenario)
    }

    @Test(arguments: EscalationStoreContract.Scenario.allCases)
    func escalationContract(_ scenario: EscalationStoreContract.Scenario) async throws {
        let url = try PostgresTestCluster.shared().createDatabase()
        try await EscalationStoreContract(makeStore: { try await Self.open(url) }).run(scenario)
    }

    /// Three stores (three worker processes) decide one escalation step at
    /// once, 20 escalations over: exactly one write per escalation lands.
    @Test func escalationDecisionsRaceAcrossStoresOnOneDatabase() async throws {
        try await Self.withStores(3) { stores in
            for index in 0..<20 {
                #expect(try await stores[0].createEscalation(EscalationStoreContract.escalation("esc:\(index)"), now: StoreContract.t0))
            }
            let wins = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<20 {
                    for store in stores {
                        group.addTask {
                            let next = EscalationStoreContract.escalation("esc:\(index)", deadline: 600, pending: true)
                            return try await store.updateEscalation(next, expectedVersion: 1, now: StoreContract.t0) ? 1 : 0
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(wins == 20)
        }
    }

    @Test func claimsRaceAcrossStoresOnOneDatabase() async throws {
        // Three stores stand for three worker processes; 20 keys, each claimed
        // by all three at once: exactly one claim per key wins.
        try await Self.withStores(3) { stores in
            let results = try await withThrowingTaskGroup(of: (String, String).self) { group in
                for key in 0..<20 {
                    for (index, store) in stores.enumerated() {
                        group.addTask {
                            let owner = StoreOwner(worker: "w\(index)", incarnation: "i\(index)")
                            let result = try await store.claim(StoreContract.request("r-\(key)-\(index)", key: "k\(key)", owner: owner))
                            return ("k\(key)", result.kind)
                        }
                    }
                }
                var results: [(String, String)] = []
                for try await result in group { results.append(result) }
                return results
            }
            for key in 0..<20 {
                let kinds = results.filter { $0.0 == "k\(key)" }.map(\.1).sorted()
                #expect(kinds == ["claimed", "inFlight", "inFlight"], "k\(key): \(kinds)")
            }
        }
    }

    @Test func storesStartingTogetherMigrateOnce() async throws {
        let cluster = try PostgresTestCluster.shared()
        let url = try cluster.createDatabase()
        let database = String(url.split(separator: "/").last!.split(separator: "?").first!)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let store = try await Self.open(url)
                    await store.close()
                }
            }
            try await group.waitForAll()
        }
        #expect(try cluster.psql("SELECT string_agg(version::text, ',') FROM aicc_notify_schema_migrations", database: database) == "1,2,3,4")
    }

    @Test func aNewerSchemaIsRefused() async throws {
        let cluster = try PostgresTestCluster.shared()
        let url = try cluster.createDatabase()
        let database = String(url.split(separator: "/").last!.split(separator: "?").first!)
        let store = try await Self.open(url)
        await store.close()
        try cluster.psql("INSERT INTO aicc_notify_schema_migrations (version, applied_at) VALUES (99, 0)", database: database)
        await expectStoreError("store.migration") { _ = try await Self.open(url) }
    }

    @Test func anUnreachableServerIsUnavailableAtStart() async throws {
        await expectStoreError("store.unavailable") {
            _ = try await Self.open("postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", timeout: .seconds(2))
        }
    }

    @Test func aServerOutageIsRetriableAndTheStoreRecovers() async throws {
        let cluster = try PostgresTestCluster.start()
        defer { try? cluster.destroy() }
        let url = try cluster.createDatabase()
        try await Self.withStores(1, url: url, timeout: .seconds(2)) { stores in
            let store = stores[0]
            #expect(try await store.claim(StoreContract.request("r1")).kind == "claimed")
            try cluster.stop()
            do {
                _ = try await store.claim(StoreContract.request("r2", key: "key-2"))
                Issue.record("a claim succeeded with the server stopped")
            } catch let error as StoreError {
                #expect(error.code == "store.unavailable", "\(error)")
                #expect(error.isRetriable)
            }
            try cluster.startServer()
            // The pool reconnects: the next operations work and the first claim survived.
            var recovered = false
            for _ in 0..<50 where !recovered {
                recovered = (try? await store.lookup(key: "key-1")) != nil
                if !recovered { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(recovered)
            #expect(try await store.lookup(key: "key-1")?.requestId == "r1")
            #expect(try await store.claim(StoreContract.request("r2", key: "key-2")).kind == "claimed")
        }
    }

    @Test func everyOperationUnderWayWhenTheServerStopsEnds() async throws {
        // Twenty workers' worth of operations in flight while the server stops
        // and comes back: each one ends (succeeds, or fails retriably), none hangs.
        let cluster = try PostgresTestCluster.start()
        defer { try? cluster.destroy() }
        let url = try cluster.createDatabase()
        try await Self.withStores(1, url: url, timeout: .seconds(2)) { stores in
            let store = stores[0]
            let stopAt = ContinuousClock.now + .seconds(6)
            let longest = try await withThrowingTaskGroup(of: Duration.self) { group in
                for lane in 0..<20 {
                    group.addTask {
                        var longest: Duration = .zero
                        var index = 0
                        let owner = StoreOwner(worker: "w\(lane)", incarnation: "i")
                        while ContinuousClock.now < stopAt {
                            index += 1
                            let key = "lane-\(lane)-\(index)"
                            let started = ContinuousClock.now
                            do {
                                _ = try await store.claim(StoreContract.request("r", key: key, owner: owner))
                                _ = try await store.recordOutcome(key: key, requestId: "r", owner: owner, outcome: StoreContract.outcome(.accepted))
                            } catch let error as StoreError where error.isRetriable || error.code == "store.claim.lost" {
                                try await Task.sleep(for: .milliseconds(50))
                            }
                            longest = max(longest, ContinuousClock.now - started)
                        }
                        return longest
                    }
                }
                try await Task.sleep(for: .seconds(1))
                try cluster.stop()
                try await Task.sleep(for: .seconds(3))
                try cluster.startServer()
                var longest: Duration = .zero
                for try await lane in group { longest = max(longest, lane) }
                return longest
            }
            // Three operations of at most 2 s each, plus slack: a hang would be unbounded.
            #expect(longest < .seconds(20), "an operation took \(longest)")
            #expect(try await store.claim(StoreContract.request("after", key: "after")).kind == "claimed")
        }
    }

    @Test(arguments: [
        ("mysql://u@h/db", "not a postgres"),
        ("postgres://u@/db", "needs a host"),
        ("postgres://h:5432/db", "needs a user"),
        ("postgres://u@h:5432", "needs a database"),
        ("postgres://u:secret@h/db?sslmode=maybe", "sslmode"),
        ("postgres://u:secret@h/db?max_connections=0", "max_connections"),
        ("postgres://u:secret@h/db?pool=3", "unknown parameter"),
    ])
    func badURLsNameTheProblemAndNeverThePassword(url: String, expected: String) throws {
        do {
            _ = try PostgresIdempotencyStore.Configuration(url: url)
            Issue.record("\(url) was accepted")
        } catch {
            #expect(error.code == "store.config.invalid")
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(error.message.contains("store.url"))
            #expect(!error.message.contains("secret"))
        }
    }

    @Test func urlParts() throws {
        let configuration = try PostgresIdempotencyStore.Configuration(
            url: "postgresql://notify%40svc:p%2Fss@db.internal:6543/aicc?sslmode=require&max_connections=4&connect_timeout=3")
        #expect(configuration.client.host == "db.internal")
        #expect(configuration.client.port == 6543)
        #expect(configuration.client.username == "notify@svc")
        #expect(configuration.client.password == "p/ss")
        #expect(configuration.client.database == "aicc")
        #expect(configuration.client.options.maximumConnections == 4)
        #expect(configuration.client.options.connectTimeout == .seconds(3))
        #expect(configuration.displayName == "db.internal:6543/aicc")
    }
}
