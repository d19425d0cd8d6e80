import AICCSimulator
import Foundation
import Kafka
import Logging
import NotifyCore
import TestServers
import Testing

/// The worker as its own process against a second, independent broker
/// (noida-db), not librdkafka's own mock cluster: a mix of requests, a
/// graceful restart, then more requests and a redelivery. noida-db expires no
/// SIGKILLed member, so this scenario is graceful only (crashes stay on the
/// mock cluster).
@Suite("aicc-notify run on noida-db", .serialized, .timeLimit(.minutes(5)))
struct SecondBrokerWorkerTests {
    static func json(_ requestId: String, called: String, extra: String = "") -> [UInt8] {
        Array(#"{"requestId":"\#(requestId)","called":"\#(called)","voiceContent":[{"text":"Alert"}],"statusCallback":false\#(extra)}"#.utf8)
    }

    @Test("Mixed requests, a graceful restart, more requests and a redelivery: every result once, every number called once")
    func mixedRequestsAndAGracefulRestart() async throws {
        let broker = try NoidaTestBroker.shared()
        let logger = Logger(label: "noida-e2e") { _ in SwiftLogNoOpLogHandler() }
        // noida-db makes topics on first use with one partition: make them first.
        let admin = try KafkaAdmin(configuration: .init(bootstrapServers: broker.bootstrapServers), logger: logger)
        do {
            try await admin.createTopics([
                KafkaNewTopic(name: ProcessScenario.requestsTopic, partitions: 3),
                KafkaNewTopic(name: ProcessScenario.resultsTopic, partitions: 2),
                KafkaNewTopic(name: ProcessScenario.callbacksTopic, partitions: 1),
                KafkaNewTopic(name: "notification.requests.dlq", partitions: 1),
            ])
        } catch let error as KafkaError where error.code == "kafka.topic_already_exists" {
            // A broker named by AICC_NOTIFY_TEST_NOIDA that ran this before.
        }
        await admin.shutdown()

        try await ProcessScenario.with(bootstrapServers: broker.bootstrapServers, simulator: .init()) { s in
            let before = try s.distinctResults().count
            let firstRound = (0..<30).map { ProcessScenario.request($0) }
            var mixed = firstRound.map { (key: Optional($0.requestId), value: $0.bytes) }
            mixed.append((key: "r-bad", value: Array(#"{"requestId":"r-bad","called":"not a number","voiceContent":"1"}"#.utf8)))
            mixed.append((key: "r-old", value: Self.json("r-old", called: "+8613900000001", extra: #","expiresAt":"2020-01-01T00:00:00Z""#)))
            mixed.append((key: "garbage", value: Array("not json at all".utf8)))
            try await s.produceRaw(mixed)
            // After r-3, on its partition (same Kafka key): same idempotency key and content.
            let duplicate = String(decoding: firstRound[3].bytes, as: UTF8.self)
                .replacingOccurrences(of: #""requestId":"r-3""#, with: #""requestId":"r-dup","idempotencyKey":"r-3""#)
            try await s.produceRaw([(key: "r-3", value: Array(duplicate.utf8))])

            let environment = s.environment(["AICC_NOTIFY_KAFKA_GROUP_ID": "noida-e2e-\(UUID().uuidString.prefix(6))"])
            let first = try s.startWorker(environment)
            try await s.waitUntil("the first round has its results", timeout: .seconds(120)) {
                try s.distinctResults().count == before + 33
            }
            first.signal(SIGTERM)
            #expect(first.waitForExit(timeout: 30) == 0, "\(first.stderrText)")

            let secondRound = (30..<50).map { ProcessScenario.request($0) }
            try await s.produceRaw(secondRound.map { (key: Optional($0.requestId), value: $0.bytes) } + [(key: "r-5", value: firstRound[5].bytes)])
            let second = try s.startWorker(environment)
            try await s.waitUntil("the second round has its results", timeout: .seconds(120)) {
                try s.distinctResults().count == before + 53
            }
            // The redelivered r-5 is republished: two identical copies.
            try await s.waitUntil("r-5 is republished", timeout: .seconds(60)) {
                try s.allResultPayloads()["r-5"]?.count == 2
            }
            second.signal(SIGTERM)
            #expect(second.waitForExit(timeout: 30) == 0, "\(second.stderrText)")

            let results = try s.distinctResults()
            let payloads = try s.allResultPayloads()
            for request in firstRound + secondRound {
                #expect(results[request.requestId]?.outcome == .accepted, "\(request.requestId)")
                #expect(s.simulator.stats.acceptedCalls(to: request.called) == 1, "\(request.requestId)")
                // Read once: the restart resumed after the committed offsets.
                if request.requestId != "r-5" { #expect(payloads[request.requestId]?.count == 1, "\(request.requestId)") }
            }
            #expect(Set(payloads["r-5"] ?? []).count == 1)
            #expect(results["r-dup"]?.outcome == .duplicate)
            #expect(results["r-dup"]?.duplicateOf?.requestId == "r-3")
            #expect(results["r-bad"]?.outcome == .rejected)
            #expect(results["r-bad"]?.error?.code == "validation.called.format")
            #expect(results["r-old"]?.outcome == .expired)
            #expect(s.simulator.stats.accepted == 50)
            let deadLetters = try s.deadLetters()
            #expect(deadLetters.map(\.code) == ["decode.json"], "\(deadLetters)")
        }
    }
}
