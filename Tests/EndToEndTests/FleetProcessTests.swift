import AICCSimulator
import Foundation
import NotifyCore
import TestServers
import Testing

/// A fleet: several `aicc-notify run` processes in one consumer group sharing
/// a PostgreSQL store, against a 3-broker mock Kafka cluster in its own
/// process and the AICC simulator (issue #8).
@Suite("A fleet of workers sharing PostgreSQL", .serialized, .timeLimit(.minutes(10)))
struct FleetProcessTests {
    static let requestCount = 3000

    static func simulator() -> AICCSimulator.Configuration {
        var simulator = AICCSimulator.Configuration()
        simulator.latency = .milliseconds(20)
        simulator.jitter = .milliseconds(20)
        simulator.seed = 23
        return simulator
    }

    /// The environment of fleet member `index` on the store at `url`.
    static func environment(_ s: ProcessScenario, _ index: Int, store url: String, claimLease: String = "5") -> [String: String] {
        s.environment([
            "AICC_NOTIFY_WORKER_ID": "fleet-\(index)",
            "AICC_NOTIFY_STORE_URL": url,
            "AICC_NOTIFY_DISPATCH_CLAIM_LEASE": claimLease,
        ])
    }

    /// What every fleet run must show at the end: a result per request as
    /// product §4 defines it, no phone called twice, offsets committed to the end.
    static func expectEffectivelyOnce(
        _ s: ProcessScenario, _ requests: [(requestId: String, called: String, bytes: [UInt8])], maxInDoubt: Int
    ) async throws {
        let results = try s.distinctResults()
        #expect(Set(results.keys) == Set(requests.map(\.requestId)))
        let stats = s.simulator.stats
        for request in requests where stats.calls(to: request.called) > 1 {
            Issue.record("\(request.requestId) reached AICC \(stats.calls(to: request.called)) times")
        }
        let indeterminate = results.values.filter { $0.outcome == .indeterminate }
        #expect(indeterminate.count <= maxInDoubt, "\(indeterminate.count) in doubt")
        for result in indeterminate {
            #expect(result.error?.code == DispatchErrorCode.claimInDoubt)
        }
        for result in results.values where result.outcome != .indeterminate {
            #expect(result.outcome == .accepted, "\(result.requestId): \(result.outcome) \(result.error?.code ?? "")")
        }
        // Accepted requests called exactly once.
        for request in requests where results[request.requestId]?.outcome == .accepted {
            #expect(stats.calls(to: request.called) == 1, "\(request.requestId) accepted with \(stats.calls(to: request.called)) calls")
        }
        for (requestId, copies) in try s.allResultPayloads() where Set(copies).count > 1 {
            Issue.record("\(requestId) was published with different contents")
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let (committed, ends) = try await s.committedAndEnds()
            if ends.allSatisfy({ committed[$0.key] == $0.value }) { break }
            guard ContinuousClock.now < deadline else {
                Issue.record("committed offsets \(committed) do not reach the ends \(ends)")
                break
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    static func stopAll(_ workers: [ChildProcess]) {
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers {
            let status = worker.waitForExit(timeout: 60)
            #expect(status == 0, "a worker exited \(String(describing: status)): \(worker.stderrText.suffix(2000))")
        }
    }

    @Test("3 workers, 6 partitions, 3,000 requests; one SIGKILLed and replaced mid-run")
    func aKilledWorkerIsReplaced() async throws {
        let url = try PostgresTestCluster.shared().createDatabase()
        try await ProcessScenario.with(simulator: Self.simulator(), brokers: 3, partitions: 6) { s in
            let requests = (0..<Self.requestCount).map { ProcessScenario.request($0) }
            try await s.produce(requests)
            var workers = try (0..<3).map { try s.startWorker(Self.environment(s, $0, store: url)) }
            try await s.waitUntil("the fleet makes progress", timeout: .seconds(120)) {
                try s.distinctResults().count >= Self.requestCount / 4
            }
            workers[1].signal(SIGKILL)
            _ = workers[1].waitForExit(timeout: 10)
            workers[1] = try s.startWorker(Self.environment(s, 3, store: url))
            try await s.waitUntil("every request has a result", timeout: .seconds(240)) {
                try s.distinctResults().count == requests.count
            }
            Self.stopAll(workers)
            try await Self.expectEffectivelyOnce(s, requests, maxInDoubt: ProcessScenario.maxConcurrency)
        }
    }

    @Test("3 workers through a broker taken down and brought back mid-run")
    func aBrokerGoesDownAndComesBack() async throws {
        let url = try PostgresTestCluster.shared().createDatabase()
        try await ProcessScenario.with(simulator: Self.simulator(), brokers: 3, partitions: 6, signalBroker: 2) { s in
            let requests = (0..<Self.requestCount).map { ProcessScenario.request($0) }
            try await s.produce(requests)
            let workers = try (0..<3).map { try s.startWorker(Self.environment(s, $0, store: url)) }
            try await s.waitUntil("the fleet makes progress", timeout: .seconds(120)) {
                try s.distinctResults().count >= Self.requestCount / 4
            }
            try #require(s.kafka).signal(SIGUSR1)  // broker 2 down
            try await Task.sleep(for: .seconds(8))
            try #require(s.kafka).signal(SIGUSR2)  // and up again
            try await s.waitUntil("every request has a result", timeout: .seconds(240)) {
                try s.distinctResults().count == requests.count
            }
            Self.stopAll(workers)
            // No worker died, so nothing may be in doubt.
            try await Self.expectEffectivelyOnce(s, requests, maxInDoubt: 0)
        }
    }

    @Test("PostgreSQL stopped for 10 s mid-run: no failed result, no double call, work resumes")
    func aStoreOutageIsRiddenOut() async throws {
        let cluster = try PostgresTestCluster.start()
        defer { try? cluster.destroy() }
        let url = try cluster.createDatabase()
        try await ProcessScenario.with(simulator: Self.simulator(), brokers: 3, partitions: 6) { s in
            let requests = (0..<Self.requestCount).map { ProcessScenario.request($0) }
            try await s.produce(requests)
            let port = try freeLoopbackPort()
            let workers = try (0..<3).map { index in
                var environment = Self.environment(s, index, store: url, claimLease: "30")
                if index == 0 { environment["AICC_NOTIFY_HTTP_LISTEN"] = "127.0.0.1:\(port)" }
                return try s.startWorker(environment)
            }
            let curl = try #require(ProcessSupport.which("curl"))
            func readyz() throws -> String {
                try ProcessSupport.run(curl, ["-s", "-m", "25", "-w", " %{http_code}", "http://127.0.0.1:\(port)/readyz"]).stdout
            }
            try await s.waitUntil("the fleet makes progress", timeout: .seconds(120)) {
                try s.distinctResults().count >= Self.requestCount / 4
            }
            try cluster.stop()
            let stopped = ContinuousClock.now
            let during = try s.distinctResults().count
            // Not ready while the store is unreachable, and saying why (the
            // store's 10 s operation timeout bounds the answer).
            let notReady = try readyz()
            #expect(notReady.hasSuffix(" 503") && notReady.contains("idempotency store unavailable"), "\(notReady)")
            let outage: Duration = .seconds(10)
            if ContinuousClock.now - stopped < outage { try await Task.sleep(until: stopped + outage) }
            let after = try s.distinctResults().count
            try cluster.startServer()
            try await s.waitUntil("ready again once the store is back", timeout: .seconds(60)) {
                try readyz().hasSuffix(" 200")
            }
            // Work paused while the store was away (a few results whose
            // outcome was stored before the stop may still have been published).
            // (A worker going on without its store would publish hundreds a second.)
            #expect(after - during <= 200, "\(after - during) results published without a store")
            try await s.waitUntil("every request has a result", timeout: .seconds(240)) {
                try s.distinctResults().count == requests.count
            }
            Self.stopAll(workers)
            try await Self.expectEffectivelyOnce(s, requests, maxInDoubt: 0)
        }
    }
}
