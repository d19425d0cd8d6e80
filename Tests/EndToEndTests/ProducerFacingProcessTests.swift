import AICCSimulator
import Foundation
import Kafka
import NotifyCore
import Testing

/// What producers meet first (issue #27), the worker as its own process:
/// CloudEvents of the producer's own `type`, `kafka.cloudEvents.types`, and
/// routed keys under `routing.keySecret`.
@Suite("Producers' CloudEvent types and routed keys through the worker process", .serialized, .timeLimit(.minutes(5)))
struct ProducerFacingProcessTests {
    static let foreignType = "com.example.notification.request"

    /// A binary-mode CloudEvent whose data has no `requestId` (its `ce_id` stands in).
    static func binaryEvent(id: String, type: String, called: String) -> KafkaProducerMessage {
        let data = #"{"called":"\#(called)","voiceContent":[{"text":"Disk full"}],"statusCallback":false}"#
        return KafkaProducerMessage(
            topic: ProcessScenario.requestsTopic, key: id, value: Array(data.utf8),
            headers: [
                KafkaHeader(key: "ce_specversion", string: "1.0"),
                KafkaHeader(key: "ce_id", string: id),
                KafkaHeader(key: "ce_source", string: "/alerting/pipeline"),
                KafkaHeader(key: "ce_type", string: type),
                KafkaHeader(key: "content-type", string: "application/json"),
            ])
    }

    @Test("any CloudEvent type is a request by default; kafka.cloudEvents.types refuses others with a dead letter and a rejected result under ce_id")
    func cloudEventTypes() async throws {
        // Default: the producer's own type is accepted, ce_id stands in for requestId.
        try await ProcessScenario.with(simulator: .init()) { s in
            try await s.produce(messages: [Self.binaryEvent(id: "run/ce id ✓", type: Self.foreignType, called: "+8613900000001")])
            let worker = try s.startWorker(s.environment())
            try await s.waitUntil("the event has a result", timeout: .seconds(60)) { try s.distinctResults().count == 1 }
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)
            let result = try #require(try s.distinctResults()["run/ce id ✓"])
            #expect(result.outcome == .accepted)
            #expect(try s.deadLetters().isEmpty)
            #expect(s.simulator.stats.acceptedCalls(to: "+8613900000001") == 1)
        }
        // Restricted: the listed type is accepted, the other refused twice over.
        try await ProcessScenario.with(simulator: .init()) { s in
            try await s.produce(messages: [
                Self.binaryEvent(id: "run/ce id ✓", type: Self.foreignType, called: "+8613900000001"),
                Self.binaryEvent(id: "page-1", type: "com.example.page", called: "+8613900000002"),
            ])
            let worker = try s.startWorker(s.environment(["AICC_NOTIFY_KAFKA_CLOUD_EVENTS_TYPES": "com.example.page, com.example.other"]))
            try await s.waitUntil("both events have results", timeout: .seconds(60)) { try s.distinctResults().count == 2 }
            try await s.waitUntil("the refused event is dead-lettered", timeout: .seconds(30)) { try !s.deadLetters().isEmpty }
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)
            let results = try s.distinctResults()
            let refused = try #require(results["run/ce id ✓"])
            #expect(refused.outcome == .rejected)
            #expect(refused.error?.code == "cloudevents.type")
            #expect(refused.idempotencyKey == "run/ce id ✓")
            #expect(results["page-1"]?.outcome == .accepted)
            let deadLetters = try s.deadLetters()
            #expect(deadLetters.map(\.code) == ["cloudevents.type"])
            #expect(s.simulator.stats.totalCalls == 1)
            #expect(s.simulator.stats.acceptedCalls(to: "+8613900000001") == 0)
        }
    }

    @Test("routed keys under routing.keySecret: HMACs that aicc-notify route also makes, the same after a restart, no second call")
    func routedKeysUnderTheKeySecret() async throws {
        try await ProcessScenario.with(simulator: .init()) { s in
            let rulesFile = s.logDirectory.appendingPathComponent("rules.yaml")
            try AlertRoutingProcessTests.rules.write(to: rulesFile, atomically: true, encoding: .utf8)
            let secretFile = s.logDirectory.appendingPathComponent("routing_key_secret")
            try "a-routing-key-secret-0123456789\n".write(to: secretFile, atomically: true, encoding: .utf8)
            let payload = AlertRoutingProcessTests.payload([AlertRoutingProcessTests.alert("DiskFull", team: "db")])
            try await s.produceRaw([(key: "g1", value: payload)], topic: ProcessScenario.alertsTopic)
            let settings = ["AICC_NOTIFY_ROUTING_FILE": rulesFile.path, "AICC_NOTIFY_ROUTING_KEY_SECRET_FILE": secretFile.path]
            var worker = try s.startWorker(s.environment(settings.merging(["AICC_NOTIFY_KAFKA_GROUP_ID": "keyed-1"]) { _, new in new }))
            try await s.waitUntil("2 routed requests have results", timeout: .seconds(90)) { try s.distinctResults().count == 2 }
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)
            let keys = Set(try s.distinctResults().keys)

            // `route` with the same secret makes the same keys; without it, other (plain SHA-256) keys.
            func routeKeys(_ environment: [String: String]) throws -> Set<String> {
                let output = try ProcessSupport.run(
                    ProcessSupport.binary, ["route", "--rules", rulesFile.path, "-"], stdin: Data(payload),
                    environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new })
                #expect(output.status == 0, "\(output.stderr)")
                return Set(output.stdout.split(separator: "\n").map {
                    String($0.components(separatedBy: #""idempotencyKey":""#)[1].prefix(38))
                })
            }
            #expect(try routeKeys(["AICC_NOTIFY_ROUTING_KEY_SECRET_FILE": secretFile.path]) == keys)
            let plain = try routeKeys([:])
            #expect(plain.count == 2 && plain.isDisjoint(with: keys))
            #expect(keys.allSatisfy { $0.hasPrefix("alert:") && $0.count == 38 })

            // A restart that reads the alert again (a new group): the same keys, nobody rings twice.
            worker = try s.startWorker(s.environment(settings.merging(["AICC_NOTIFY_KAFKA_GROUP_ID": "keyed-2"]) { _, new in new }))
            try await s.waitUntil("the alert's requests are republished", timeout: .seconds(90)) {
                try s.allResultPayloads().values.map(\.count).reduce(0, +) >= 4
            }
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)
            #expect(Set(try s.distinctResults().keys) == keys)
            #expect(s.simulator.stats.totalCalls == 2)
        }
    }
}
