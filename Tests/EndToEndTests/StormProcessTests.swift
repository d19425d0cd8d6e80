import AICCSimulator
import Foundation
import NotifyCore
import TestServers
import Testing

/// Storm protection across a fleet (product §10): two worker processes on one
/// PostgreSQL store race on one phone number; the budget holds.
@Suite("Storm protection across a fleet", .serialized, .timeLimit(.minutes(5)))
struct StormProcessTests {
    @Test("Two workers on PostgreSQL, 60 requests to one number over 6 partitions: exactly the burst is called")
    func twoWorkersRaceOnOneNumber() async throws {
        let url = try PostgresTestCluster.shared().createDatabase()
        var simulator = AICCSimulator.Configuration()
        simulator.latency = .milliseconds(20)
        try await ProcessScenario.with(simulator: simulator, partitions: 6) { s in
            let number = "+8613812340000"
            let requests = (0..<60).map { index in
                (requestId: "storm-\(index)", called: number,
                 bytes: Array(#"{"requestId":"storm-\#(index)","called":"\#(number)","voiceContent":[{"text":"Disk \#(index) full"}],"statusCallback":false}"#.utf8))
            }
            // Plus a page at the bypass priority, which is called whatever the budget says.
            let urgent = (requestId: "urgent", called: number,
                          bytes: Array(#"{"requestId":"urgent","called":"\#(number)","voiceContent":"$Site down$","priority":1,"statusCallback":false}"#.utf8))
            let workers = try (0..<2).map { index in
                try s.startWorker(s.environment([
                    "AICC_NOTIFY_WORKER_ID": "storm-\(index)",
                    "AICC_NOTIFY_STORE_URL": url,
                    "AICC_NOTIFY_LOG_LEVEL": "info",
                    "AICC_NOTIFY_DISPATCH_STORM_WINDOW": "300",
                    "AICC_NOTIFY_DISPATCH_STORM_BURST": "3",
                    "AICC_NOTIFY_DISPATCH_STORM_BYPASS_PRIORITY": "1",
                ]))
            }
            // Both members own partitions before the burst arrives, so that they race.
            try await s.waitUntil("both workers own partitions", timeout: .seconds(60)) {
                workers.allSatisfy { $0.stderrText.contains("partitions assigned") }
            }
            try await Task.sleep(for: .seconds(2))
            try await s.produce(requests + [urgent])
            try await s.waitUntil("every request has a result", timeout: .seconds(120)) {
                try s.distinctResults().count == requests.count + 1
            }
            for worker in workers { worker.signal(SIGTERM) }
            for worker in workers { #expect(worker.waitForExit(timeout: 60) == 0) }

            let results = try s.distinctResults()
            let outcomes = Dictionary(grouping: requests.compactMap { results[$0.requestId] }, by: \.outcome).mapValues(\.count)
            #expect(outcomes == [.accepted: 3, .suppressed: 57], "\(outcomes)")
            #expect(results["urgent"]?.outcome == .accepted)
            // The phone rang four times: the burst and the bypass page.
            #expect(s.simulator.stats.calls(to: number) == 4)
            for result in results.values where result.outcome == .suppressed {
                #expect(result.error?.code == "dispatch.storm")
                #expect(result.callSerialNo == nil && result.attempts == 0)
            }
            // Both workers took part (the race is real): each published results.
            for worker in workers {
                #expect(worker.stderrText.contains("storm-") && worker.stderrText.contains(" result "), "a worker took no part")
            }
        }
    }
}
