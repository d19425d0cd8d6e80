import AICCSimulator
import Foundation
import NotifyCore
import TestServers
import Testing

/// Escalation (product §12) with the worker as its own process: alerts on the
/// mock cluster's alerts topic, the simulator answering per number and
/// pushing its status reports to the worker's HTTP endpoint, the SQLite store.
@Suite("Escalation through the worker process", .serialized, .timeLimit(.minutes(5)))
struct EscalationProcessTests {
    static let primary = "+8613800000001"
    static let secondary = "+8613900000009"
    static let last = "+8613700000077"

    /// db-critical rings the primary, then the secondary, then `last`.
    static func rules(wait: String) -> String {
        """
        version: 1
        defaults:
          voice: [{text: "{{labels.alertname}} on {{labels.instance}}"}]
        routes:
          - name: db-critical
            match: {team: db}
            call: ["\(primary)"]
            escalate:
              wait: \(wait)
              steps:
                - call: ["\(secondary)"]
                - call: ["\(last)"]
                  priority: 1
        """
    }

    /// A worker with callbacks on and the rules; returns it and its environment.
    static func startWorker(_ s: ProcessScenario, wait: String, extra: [String: String] = [:]) throws -> (ChildProcess, [String: String]) {
        let rulesFile = s.logDirectory.appendingPathComponent("rules.yaml")
        try Self.rules(wait: wait).write(to: rulesFile, atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let environment = s.environment([
            "AICC_NOTIFY_ROUTING_FILE": rulesFile.path,
            "AICC_NOTIFY_HTTP_LISTEN": "127.0.0.1:\(port)",
            "AICC_NOTIFY_CALLBACK_PUBLIC_BASE_URL": "http://127.0.0.1:\(port)/",
            "AICC_NOTIFY_CALLBACK_SECRET": "a-callback-secret-of-32-characters",
        ].merging(extra) { _, new in new })
        return (try s.startWorker(environment), environment)
    }

    /// Runs `wait`; when it fails, the failure carries the end of the worker's log.
    static func explained(_ worker: ChildProcess, _ wait: () async throws -> Void) async throws {
        do {
            try await wait()
        } catch {
            throw ScenarioFailure("\(error); the worker's log ends: \(worker.stderrText.suffix(3000))")
        }
    }

    static func alert(status: String = "firing", startsAt: String = "2026-12-04T10:00:00Z") -> [UInt8] {
        AlertRoutingProcessTests.payload([
            #"{"status":"\#(status)","labels":{"alertname":"ReplicationBroken","team":"db","instance":"db-01"},"annotations":{},"startsAt":"\#(startsAt)","fingerprint":"fp-repl"}"#,
        ])
    }

    @Test("step 0 rings out unanswered, step 1 rings and is answered: answered, no step 2")
    func unansweredThenAnswered() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.callback.releaseReasonByNumber = [Self.primary: 4, Self.secondary: 1]
        try await ProcessScenario.with(simulator: simulator) { s in
            try await s.produceRaw([(key: "g1", value: Self.alert())], topic: ProcessScenario.alertsTopic)
            let (worker, environment) = try Self.startWorker(s, wait: "30s")
            try await s.waitUntil("the escalation is answered", timeout: .seconds(60)) {
                try worker.expectRunning()
                return try s.escalationEvents().contains { $0.state == "answered" }
            }
            // Long enough for a wrong step 2 to show.
            try await Task.sleep(for: .seconds(2))
            let listen = try #require(environment["AICC_NOTIFY_HTTP_LISTEN"])
            let curl = try #require(ProcessSupport.which("curl"))
            let metrics = try ProcessSupport.run(curl, ["-s", "http://\(listen)/metrics"]).stdout
            #expect(metrics.contains(#"aicc_notify_escalations_total{state="escalated"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"aicc_notify_escalations_total{state="answered"} 1"#))
            #expect(metrics.contains("aicc_notify_escalations_pending 0"))
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)

            let events = try s.escalationEvents()
            #expect(events.map(\.state) == ["escalated", "answered"], "\(events)")
            #expect(events.map(\.step) == [1, 1])
            #expect(Set(events.map(\.escalationId)).count == 1)
            #expect(events[0].recipients == ["+*********0009"])
            #expect(events[0].reason == "unanswered" && events[1].reason == "answered")
            let results = try s.distinctResults()
            #expect(events[1].callSerialNo != nil && events[1].callSerialNo == results[events[1].requestIds[0]]?.callSerialNo)
            #expect(results.count == 2)
            #expect(results.values.allSatisfy { $0.outcome == .accepted && $0.attributes["escalation.id"] == events[0].escalationId })
            #expect(Set(results.values.compactMap { $0.attributes["escalation.step"] }) == ["0", "1"])
            #expect(s.simulator.stats.acceptedCalls(to: Self.primary) == 1)
            #expect(s.simulator.stats.acceptedCalls(to: Self.secondary) == 1)
            #expect(s.simulator.stats.calls(to: Self.last) == 0)
        }
    }

    @Test("a resolved record during the wait ends the escalation: no step 1")
    func resolvedDuringTheWait() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.callback.delay = .seconds(120)  // no report arrives: only the deadline could escalate
        try await ProcessScenario.with(simulator: simulator) { s in
            try await s.produceRaw([(key: "g1", value: Self.alert())], topic: ProcessScenario.alertsTopic)
            // The wait leaves room for the test's own polling (kcat reads to the end
            // of the results topic, then the resolved record is produced and fetched).
            let (worker, _) = try Self.startWorker(s, wait: "8s")
            try await Self.explained(worker) {
                try await s.waitUntil("step 0 has its result", timeout: .seconds(60)) {
                    try worker.expectRunning()
                    return try s.distinctResults().count == 1
                }
            }
            try await s.produceRaw([(key: "g1", value: Self.alert(status: "resolved"))], topic: ProcessScenario.alertsTopic)
            try await s.waitUntil("the escalation ends resolved", timeout: .seconds(30)) {
                try s.escalationEvents().contains { $0.state == "resolved" }
            }
            try await Task.sleep(for: .seconds(10))  // past the deadline
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)
            let events = try s.escalationEvents()
            #expect(events.map(\.state) == ["resolved"], "\(events)")
            #expect(events.first?.reason == "alert.resolved" && events.first?.step == 0)
            #expect(s.simulator.stats.calls(to: Self.secondary) == 0)
            #expect(try s.distinctResults().count == 1)
        }
    }

    @Test("killed during the wait, restarted after the deadline: step 1 rings once; then exhausted")
    func killedDuringTheWait() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.callback.delay = .seconds(120)  // no report: the deadlines decide
        try await ProcessScenario.with(simulator: simulator) { s in
            try await s.produceRaw([(key: "g1", value: Self.alert())], topic: ProcessScenario.alertsTopic)
            let (worker, environment) = try Self.startWorker(s, wait: "10s")
            // Killed as soon as step 0 rang: its wait (10 s from the routing) has begun.
            try await s.waitUntil("step 0 rings", timeout: .seconds(60)) {
                try worker.expectRunning()
                return s.simulator.stats.acceptedCalls(to: Self.primary) == 1
            }
            worker.signal(SIGKILL)
            _ = worker.waitForExit(timeout: 10)
            try await Task.sleep(for: .seconds(11))  // the deadline passes while nobody runs
            #expect(s.simulator.stats.calls(to: Self.secondary) == 0)

            let restarted = try s.startWorker(environment)
            try await s.waitUntil("step 1 rings", timeout: .seconds(60)) {
                try restarted.expectRunning()
                return s.simulator.stats.acceptedCalls(to: Self.secondary) == 1
            }
            try await s.waitUntil("the last step rings out: exhausted", timeout: .seconds(60)) {
                try s.escalationEvents().contains { $0.state == "exhausted" }
            }
            restarted.signal(SIGTERM)
            #expect(restarted.waitForExit(timeout: 30) == 0)
            let events = try s.escalationEvents()
            // At least once: a decision whose records were produced may be
            // published again after a crash, never decided twice.
            #expect(Set(events.map { "\($0.state)/\($0.step)" }) == ["escalated/1", "escalated/2", "exhausted/2"], "\(events)")
            #expect(s.simulator.stats.calls(to: Self.primary) == 1)
            #expect(s.simulator.stats.calls(to: Self.secondary) == 1)
            #expect(s.simulator.stats.calls(to: Self.last) == 1)
            let results = try s.distinctResults()
            #expect(results.count == 3)
            #expect(results.values.contains { $0.attributes["escalation.step"] == "2" })
        }
    }
}

/// Two workers sharing PostgreSQL (product §12: a fleet escalates a step once).
@Suite("Escalation with two workers on PostgreSQL", .serialized, .timeLimit(.minutes(5)))
struct EscalationFleetProcessTests {
    @Test("two workers on one PostgreSQL: each step rings once, each decision is published once")
    func eachStepOnce() async throws {
        let url = try PostgresTestCluster.shared().createDatabase()
        var simulator = AICCSimulator.Configuration()
        simulator.callback.delay = .seconds(120)  // no report: both workers' sweeps race for every deadline
        try await ProcessScenario.with(simulator: simulator) { s in
            try await s.produceRaw([(key: "g1", value: EscalationProcessTests.alert())], topic: ProcessScenario.alertsTopic)
            var workers: [ChildProcess] = []
            for index in 0..<2 {
                let (worker, _) = try EscalationProcessTests.startWorker(s, wait: "3s", extra: [
                    "AICC_NOTIFY_STORE_URL": url, "AICC_NOTIFY_WORKER_ID": "escalation-\(index)",
                ])
                workers.append(worker)
            }
            try await s.waitUntil("the last step rings out: exhausted", timeout: .seconds(90)) {
                try s.escalationEvents().contains { $0.state == "exhausted" }
            }
            try await Task.sleep(for: .seconds(2))
            for worker in workers { worker.signal(SIGTERM) }
            for worker in workers { #expect(worker.waitForExit(timeout: 30) == 0) }
            let events = try s.escalationEvents()
            #expect(events.map(\.description) == ["escalated/1", "escalated/2", "exhausted/2"], "\(events)")
            #expect(s.simulator.stats.calls(to: EscalationProcessTests.primary) == 1)
            #expect(s.simulator.stats.calls(to: EscalationProcessTests.secondary) == 1)
            #expect(s.simulator.stats.calls(to: EscalationProcessTests.last) == 1)
            #expect(try s.distinctResults().count == 3)
        }
    }
}

/// An escalation event as a test reads it.
struct EscalationEventRecord: Decodable, CustomStringConvertible {
    var escalationId: String
    var route: String
    var step: Int
    var state: String
    var requestIds: [String]
    var recipients: [String]?
    var callSerialNo: String?
    var reason: String?
    var description: String { "\(state)/\(step)" }
}

extension ProcessScenario {
    static let escalationsTopic = "notification.escalations"

    /// Every escalation event, in order (kcat; one partition).
    func escalationEvents() throws -> [EscalationEventRecord] {
        guard let kcat = ProcessSupport.which("kcat") else { throw ScenarioFailure("kcat is not installed") }
        let output = try ProcessSupport.run(kcat, ["-C", "-b", self.bootstrapServers, "-t", Self.escalationsTopic, "-e", "-q", "-f", "%s\\n"])
        guard output.status == 0 else { throw ScenarioFailure("kcat: \(output.stderr)") }
        return try output.stdout.split(separator: "\n").map { line in
            try JSONDecoder().decode(EscalationEventRecord.self, from: Data(line.utf8))
        }
    }
}
