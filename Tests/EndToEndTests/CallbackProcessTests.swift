import AICCSimulator
import Foundation
import NotifyCore
import TestServers
import Testing

/// Status callbacks end to end with the worker as its own process: the
/// simulator pushes signed reports (each twice) to the worker's HTTP endpoint,
/// the worker publishes call-status events to Kafka (issue #7).
@Suite("Status callbacks through the worker process", .serialized, .timeLimit(.minutes(5)))
struct CallbackProcessTests {
    @Test("every accepted request with statusCallback yields exactly one call-status event, for every release reason")
    func oneEventPerAcceptedRequest() async throws {
        let sharedKey = "tenant-shared-key-for-callbacks"
        var simulator = AICCSimulator.Configuration()
        simulator.callback.releaseReason = .allDocumented
        simulator.callback.duplicates = 1
        simulator.callback.sharedKey = sharedKey
        try await ProcessScenario.with(simulator: simulator) { s in
            let port = try freeLoopbackPort()
            let requests: [(requestId: String, called: String, bytes: [UInt8])] = (0..<60).map { index in
                let requestId = "cb-\(index)"
                let called = "+86137" + String(format: "%08d", index)
                let json = #"{"requestId":"\#(requestId)","called":"\#(called)","voiceContent":[{"text":"Alert \#(index)"}],"statusCallback":true,"attributes":{"alert":"A-\#(index)"}}"#
                return (requestId, called, Array(json.utf8))
            }
            try await s.produce(requests)
            let worker = try s.startWorker(s.environment([
                "AICC_NOTIFY_HTTP_LISTEN": "127.0.0.1:\(port)",
                "AICC_NOTIFY_CALLBACK_PUBLIC_BASE_URL": "http://127.0.0.1:\(port)/",
                "AICC_NOTIFY_CALLBACK_SECRET": "a-callback-secret-of-32-characters",
                "AICC_NOTIFY_CALLBACK_SHARED_KEY": sharedKey,
            ]))
            try await s.waitUntil("every request has a result", timeout: .seconds(90)) {
                try s.distinctResults().count == requests.count
            }
            try await s.waitUntil("a call-status event per request", timeout: .seconds(60)) {
                try s.callStatusEvents().count >= requests.count
            }
            // Let the duplicated reports land, then count.
            try await Task.sleep(for: .seconds(2))
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)

            let results = try s.distinctResults()
            let events = try s.callStatusEvents()
            #expect(events.count == requests.count, "\(events.count) events for \(requests.count) requests")
            #expect(Set(events.map(\.requestId)) == Set(requests.map(\.requestId)))
            for event in events {
                #expect(event.attributes["alert"] == "A-" + event.requestId.dropFirst(3))
                #expect(event.callSerialNo == results[event.requestId]?.callSerialNo)
                #expect(event.idempotencyKey == results[event.requestId]?.idempotencyKey)
            }
            // Every documented release reason came through, normalized.
            #expect(Set(events.compactMap(\.releaseReason)).count > 5)
            #expect(Set(events.map(\.status)).count >= 2)
            #expect(s.simulator.stats.totalCalls == requests.count)
        }
    }
}

extension ProcessScenario {
    /// Every call-status event on the callbacks topic (kcat).
    func callStatusEvents() throws -> [CallStatusEvent] {
        guard let kcat = ProcessSupport.which("kcat") else { throw ScenarioFailure("kcat is not installed") }
        let output = try ProcessSupport.run(kcat, ["-C", "-b", self.bootstrapServers, "-t", Self.callbacksTopic, "-e", "-q", "-f", "%s\\n"])
        guard output.status == 0 else { throw ScenarioFailure("kcat: \(output.stderr)") }
        return try output.stdout.split(separator: "\n").map { line in
            try JSONDecoder().decode(CallStatusEvent.self, from: Data(line.utf8))
        }
    }
}

