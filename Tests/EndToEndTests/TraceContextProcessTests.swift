import AICCSimulator
import Foundation
import Kafka
import Logging
import NotifyCore
import TestServers
import Testing

/// Trace context end to end (product §11, issue #18), the worker as its own
/// process: request records carry W3C / CloudEvents trace context in every
/// form the contract names; the result, dead-letter and call-status records
/// must continue it, JSON log lines must carry it, and the spans must reach a
/// local OTLP/HTTP endpoint.
@Suite("Trace context through the worker process", .serialized, .timeLimit(.minutes(5)))
struct TraceContextProcessTests {
    /// One request record as sent, and the trace it should continue (`nil`: a new root).
    struct Sent {
        var requestId: String
        var called: String
        var message: KafkaProducerMessage
        var parentTraceID: String?
        var parentSpanID: String?
        var sampled: Bool
    }

    static let sharedKey = "tenant-shared-key-for-traces"

    @Test("result, dead-letter and call-status records continue each request's trace; spans reach the collector")
    func recordsContinueTheTrace() async throws {
        let sink = try OTLPSink.start()
        defer { sink.stop() }
        var simulator = AICCSimulator.Configuration()
        simulator.callback.sharedKey = Self.sharedKey
        try await ProcessScenario.with(simulator: simulator) { s in
            let sent = Self.tracedRecords()
            try await s.produce(messages: sent.map(\.message))
            let port = try freeLoopbackPort()
            let worker = try s.startWorker(s.environment(Self.callbackSettings(port: port).merging([
                "AICC_NOTIFY_LOG_FORMAT": "json",
                "AICC_NOTIFY_LOG_LEVEL": "info",
                "AICC_NOTIFY_TRACING_OTLP_ENDPOINT": sink.endpoint,
            ]) { _, new in new }))
            let accepted = sent.filter { $0.requestId.hasPrefix("t-") && $0.requestId != "t-invalid" }
            try await s.waitUntil("every request has a result", timeout: .seconds(90)) {
                try s.records(Self.resultsTopicName).count >= sent.count - 1  // the undecodable record has none
            }
            try await s.waitUntil("a call-status event per accepted request", timeout: .seconds(60)) {
                try s.records(ProcessScenario.callbacksTopic).count >= accepted.count
            }
            try await s.waitUntil("the undecodable record is dead-lettered", timeout: .seconds(30)) {
                try !s.records("notification.requests.dlq").isEmpty
            }
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)

            // Results: one per readable request, each the child of its parent or a new root.
            let results = try s.records(Self.resultsTopicName)
            var resultTrace: [String: TraceParent] = [:]
            for record in results {
                let result = try JSONDecoder().decode(NotificationResult.self, from: Data(record.value.utf8))
                let trace = try #require(record.traceParent, "result of \(result.requestId) has no traceparent: \(record.headers)")
                resultTrace[result.requestId] = trace
            }
            #expect(Set(resultTrace.keys) == Set(sent.filter { $0.requestId.hasPrefix("t-") }.map(\.requestId)))
            for request in sent where request.requestId.hasPrefix("t-") {
                guard let trace = resultTrace[request.requestId] else { continue }
                if let parent = request.parentTraceID {
                    #expect(trace.traceID == parent, "\(request.requestId) left its trace")
                    #expect(trace.spanID != request.parentSpanID, "\(request.requestId): the result carries the producer's span, not the worker's")
                    #expect(trace.sampled == request.sampled, "\(request.requestId): the sampled flag changed")
                } else {
                    let parents = Set(sent.compactMap(\.parentTraceID))
                    #expect(!parents.contains(trace.traceID), "\(request.requestId) should start a trace of its own")
                }
            }
            let roots = ["t-untraced", "t-malformed"].compactMap { resultTrace[$0]?.traceID }
            #expect(Set(roots).count == 2, "each untraced request starts its own trace")

            // The rejected request's result keeps its trace too; the undecodable record's DLQ copy carries the worker's span.
            let deadLetters = try s.records("notification.requests.dlq")
            #expect(deadLetters.count == 1)
            let undecodable = try #require(sent.first { $0.requestId == "undecodable" })
            let dlqTrace = try #require(deadLetters.first?.traceParent, "the dead-letter record has no traceparent")
            #expect(dlqTrace.traceID == undecodable.parentTraceID)
            #expect(dlqTrace.spanID != undecodable.parentSpanID, "the producer's traceparent was not replaced by the worker's")
            #expect(deadLetters.first?.headers.filter { $0.key == "traceparent" }.count == 1)

            // Call-status events continue the trace of their dispatch.
            let events = try s.records(ProcessScenario.callbacksTopic)
            #expect(events.count == accepted.count)
            for record in events {
                let event = try JSONDecoder().decode(CallStatusEvent.self, from: Data(record.value.utf8))
                let trace = try #require(record.traceParent, "call-status event of \(event.requestId) has no traceparent")
                #expect(trace.traceID == resultTrace[event.requestId]?.traceID, "\(event.requestId): call status left its dispatch's trace")
                #expect(trace.spanID != resultTrace[event.requestId]?.spanID)
            }

            // JSON log lines carry trace_id and span_id while a request is handled.
            let logLines = try s.workerLogLines()
            let traced = try #require(sent.first { $0.requestId == "t-w3c" }?.parentTraceID)
            let resultLine = logLines.first { $0.contains(#""msg":"result""#) && $0.contains(#""request.id":"t-w3c""#) }
            #expect(resultLine?.contains(#""trace_id":"\#(traced)""#) == true, "result log line: \(resultLine ?? "none")")
            #expect(resultLine?.contains(#""span_id":""#) == true)
            #expect(!logLines.contains { $0.contains(#""msg":"result""#) && !$0.contains(#""trace_id":""#) }, "a result line without trace_id")

            // Spans reached the collector: OTLP/HTTP protobuf on /v1/traces, flushed at shutdown.
            let exports = sink.requests()
            #expect(!exports.isEmpty, "no span reached the OTLP endpoint")
            #expect(exports.allSatisfy { $0.path == "/v1/traces" && $0.contentType == "application/x-protobuf" })
            let bodies = exports.flatMap(\.body)
            for request in sent {
                guard let parent = request.parentTraceID else { continue }
                let bytes = Self.bytes(hex: parent)
                if request.sampled {
                    #expect(bodies.contains(bytes: bytes), "no span of \(request.requestId)'s trace was exported")
                } else {
                    #expect(!bodies.contains(bytes: bytes), "\(request.requestId) was not sampled by its producer, yet exported")
                }
            }
            for root in roots {
                #expect(bodies.contains(bytes: Self.bytes(hex: root)), "a new root's trace was not exported")
            }
            for name in [
                "process notification.requests", "send notification.callbacks", "createVoiceNotification", "tokenByAkSk",
                "messaging.destination.name", "http.response.status_code",
            ] {
                #expect(bodies.contains(bytes: Array(name.utf8)), "no \(name) in the exported spans")
            }
            // Nothing in a span that must not be there.
            for secret in sent.map(\.called) + ["sim-app-key", "sim-app-secret", Self.sharedKey, "a-callback-secret-of-32-characters"] {
                #expect(!bodies.contains(bytes: Array(secret.utf8)), "an exported span holds \(secret.prefix(6))…")
            }
            #expect(s.simulator.stats.totalCalls == accepted.count)
        }
    }

    @Test("an unreachable collector changes nothing for dispatch")
    func unreachableCollector() async throws {
        try await ProcessScenario.with(simulator: AICCSimulator.Configuration()) { s in
            let requests = (0..<200).map(ProcessScenario.request)
            try await s.produce(requests)
            let nobody = try freeLoopbackPort()
            let worker = try s.startWorker(s.environment(["AICC_NOTIFY_TRACING_OTLP_ENDPOINT": "http://127.0.0.1:\(nobody)"]))
            try await s.waitUntil("every request has a result", timeout: .seconds(90)) {
                try s.distinctResults().count == requests.count
            }
            let stopping = ContinuousClock.now
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)
            let results = try s.distinctResults()
            #expect(results.values.allSatisfy { $0.outcome == .accepted })
            #expect(s.simulator.stats.totalCalls == requests.count)
            print("unreachable collector: shutdown took \(ContinuousClock.now - stopping)")
        }
    }

    // MARK: The records

    static let resultsTopicName = ProcessScenario.resultsTopic

    static func callbackSettings(port: Int) -> [String: String] {
        [
            "AICC_NOTIFY_HTTP_LISTEN": "127.0.0.1:\(port)",
            "AICC_NOTIFY_CALLBACK_PUBLIC_BASE_URL": "http://127.0.0.1:\(port)/",
            "AICC_NOTIFY_CALLBACK_SECRET": "a-callback-secret-of-32-characters",
            "AICC_NOTIFY_CALLBACK_SHARED_KEY": Self.sharedKey,
        ]
    }

    /// Each form of trace context the contract names, plus the cases that must not break anything.
    static func tracedRecords() -> [Sent] {
        func request(_ requestId: String, _ index: Int) -> (called: String, json: String) {
            let called = "+86139" + String(format: "%08d", index)
            return (called, #"{"requestId":"\#(requestId)","called":"\#(called)","voiceContent":[{"text":"Traced \#(index)"}],"statusCallback":true}"#)
        }
        func ids() -> (trace: String, span: String) { (randomHex(16), randomHex(8)) }
        var sent: [Sent] = []

        let w3c = ids(), w3cRequest = request("t-w3c", 1)
        sent.append(Sent(
            requestId: "t-w3c", called: w3cRequest.called,
            message: KafkaProducerMessage(topic: ProcessScenario.requestsTopic, key: "t-w3c", value: Array(w3cRequest.json.utf8), headers: [
                KafkaHeader(key: "traceparent", string: "00-\(w3c.trace)-\(w3c.span)-01"),
                KafkaHeader(key: "tracestate", string: "alerting=pipeline-7"),
            ]),
            parentTraceID: w3c.trace, parentSpanID: w3c.span, sampled: true))

        let binary = ids(), binaryRequest = request("t-binary", 2)
        sent.append(Sent(
            requestId: "t-binary", called: binaryRequest.called,
            message: KafkaProducerMessage(topic: ProcessScenario.requestsTopic, key: "t-binary", value: Array(binaryRequest.json.utf8), headers: [
                KafkaHeader(key: "ce_specversion", string: "1.0"),
                KafkaHeader(key: "ce_id", string: "event-binary-1"),
                KafkaHeader(key: "ce_source", string: "/alerting/tests"),
                KafkaHeader(key: "ce_type", string: RequestDecoder.defaultCloudEventType),
                KafkaHeader(key: "content-type", string: "application/json"),
                KafkaHeader(key: "ce_traceparent", string: "00-\(binary.trace)-\(binary.span)-01"),
            ]),
            parentTraceID: binary.trace, parentSpanID: binary.span, sampled: true))

        let structured = ids(), structuredRequest = request("t-structured", 3)
        let event = #"{"specversion":"1.0","id":"event-structured-1","source":"/alerting/tests","type":"\#(RequestDecoder.defaultCloudEventType)","datacontenttype":"application/json","traceparent":"00-\#(structured.trace)-\#(structured.span)-01","data":\#(structuredRequest.json)}"#
        sent.append(Sent(
            requestId: "t-structured", called: structuredRequest.called,
            message: KafkaProducerMessage(topic: ProcessScenario.requestsTopic, key: "t-structured", value: Array(event.utf8), headers: [
                KafkaHeader(key: "content-type", string: "application/cloudevents+json")
            ]),
            parentTraceID: structured.trace, parentSpanID: structured.span, sampled: true))

        let untraced = request("t-untraced", 4)
        sent.append(Sent(
            requestId: "t-untraced", called: untraced.called,
            message: KafkaProducerMessage(topic: ProcessScenario.requestsTopic, key: "t-untraced", value: Array(untraced.json.utf8)),
            parentTraceID: nil, parentSpanID: nil, sampled: true))

        let malformed = request("t-malformed", 5)
        sent.append(Sent(
            requestId: "t-malformed", called: malformed.called,
            message: KafkaProducerMessage(topic: ProcessScenario.requestsTopic, key: "t-malformed", value: Array(malformed.json.utf8), headers: [
                KafkaHeader(key: "traceparent", string: "00-not-a-trace-context-zz")
            ]),
            parentTraceID: nil, parentSpanID: nil, sampled: true))

        let unsampled = ids(), unsampledRequest = request("t-unsampled", 6)
        sent.append(Sent(
            requestId: "t-unsampled", called: unsampledRequest.called,
            message: KafkaProducerMessage(topic: ProcessScenario.requestsTopic, key: "t-unsampled", value: Array(unsampledRequest.json.utf8), headers: [
                KafkaHeader(key: "traceparent", string: "00-\(unsampled.trace)-\(unsampled.span)-00")
            ]),
            parentTraceID: unsampled.trace, parentSpanID: unsampled.span, sampled: false))

        // Readable but invalid: a rejected result, in the producer's trace.
        let invalid = ids()
        let invalidJSON = #"{"requestId":"t-invalid","called":"not a number","voiceContent":[{"text":"Traced 7"}]}"#
        sent.append(Sent(
            requestId: "t-invalid", called: "not a number",
            message: KafkaProducerMessage(topic: ProcessScenario.requestsTopic, key: "t-invalid", value: Array(invalidJSON.utf8), headers: [
                KafkaHeader(key: "traceparent", string: "00-\(invalid.trace)-\(invalid.span)-01")
            ]),
            parentTraceID: invalid.trace, parentSpanID: invalid.span, sampled: true))

        // Not a request at all: dead-lettered, in the producer's trace.
        let undecodable = ids()
        sent.append(Sent(
            requestId: "undecodable", called: "+8613900000008",
            message: KafkaProducerMessage(topic: ProcessScenario.requestsTopic, key: "undecodable", value: Array("not json at all".utf8), headers: [
                KafkaHeader(key: "traceparent", string: "00-\(undecodable.trace)-\(undecodable.span)-01")
            ]),
            parentTraceID: undecodable.trace, parentSpanID: undecodable.span, sampled: true))
        return sent
    }

    static func randomHex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 1...255)) }.joined()
    }

    static func bytes(hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}

/// A parsed `traceparent` header value.
struct TraceParent: Equatable {
    var traceID: String
    var spanID: String
    var sampled: Bool

    init?(_ value: String) {
        let parts = value.split(separator: "-").map(String.init)
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            parts[1] != String(repeating: "0", count: 32), let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        self.traceID = parts[1]
        self.spanID = parts[2]
        self.sampled = flags & 1 == 1
    }
}

/// A record read back with kcat: its key, headers and value.
struct ReadRecord {
    var key: String
    var headers: [(key: String, value: String)]
    var value: String

    var traceParent: TraceParent? {
        self.headers.first { $0.key == "traceparent" }.flatMap { TraceParent($0.value) }
    }
}

extension ProcessScenario {
    /// Produces the messages as given (headers included) and waits for every acknowledgement.
    func produce(messages: [KafkaProducerMessage]) async throws {
        let logger = Logger(label: "producer", factory: { _ in SwiftLogNoOpLogHandler() })
        let producer = try KafkaProducer(
            configuration: .init(client: .init(bootstrapServers: self.bootstrapServers), flushTimeout: .seconds(10)), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await producer.run() }
            for message in messages {
                _ = try await producer.send(message)
            }
            producer.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Every record on `topic`, with its headers (kcat; header values hold no `,`).
    func records(_ topic: String) throws -> [ReadRecord] {
        guard let kcat = ProcessSupport.which("kcat") else { throw ScenarioFailure("kcat is not installed") }
        let output = try ProcessSupport.run(kcat, ["-C", "-b", self.bootstrapServers, "-t", topic, "-e", "-q", "-f", "%k\t%h\t%s\n"])
        guard output.status == 0 else { throw ScenarioFailure("kcat: \(output.stderr)") }
        return output.stdout.split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            let headers = (parts.count > 1 ? parts[1] : "").split(separator: ",").map { pair in
                let field = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                return (key: field[0], value: field.count > 1 ? field[1] : "")
            }
            return ReadRecord(key: parts[0], headers: headers, value: parts.count > 2 ? parts[2] : "")
        }
    }

    /// Every line the workers wrote to their logs.
    func workerLogLines() throws -> [String] {
        let files = try FileManager.default.contentsOfDirectory(atPath: self.logDirectory.path).filter { $0.hasSuffix(".log") }
        return try files.flatMap { file in
            try String(contentsOf: self.logDirectory.appendingPathComponent(file), encoding: .utf8).split(separator: "\n").map(String.init)
        }
    }
}
