import Foundation
import NotifyCore
import Testing

/// NotificationResult and CallStatusEvent encode to what their schemas describe.
@Suite struct EventEncodingTests {
    static let received = Date(timeIntervalSince1970: 1_738_311_300.120)
    static let completed = Date(timeIntervalSince1970: 1_738_311_300.480)
    static let source = NotificationResult.Source(topic: "notification.requests", partition: 3, offset: 1042)

    static let results: [NotificationResult] = [
        NotificationResult(requestId: "r-1", idempotencyKey: "k-1", attributes: ["team": "dba"], outcome: .accepted,
                           callSerialNo: "1202501310815000001", aicc: .init(httpStatus: 200, retCode: "0", retMsg: "success"),
                           attempts: 1, receivedAt: received, completedAt: completed, source: source),
        NotificationResult(requestId: "r-2", idempotencyKey: "r-2", outcome: .rejected,
                           error: .init(ContractError(.calledFormat, path: "/called", message: "called must be digits")),
                           attempts: 0, receivedAt: received, completedAt: completed, source: source),
        NotificationResult(requestId: "r-3", idempotencyKey: "k-1", outcome: .duplicate,
                           duplicateOf: .init(requestId: "r-1", outcome: .accepted), callSerialNo: "1202501310815000001",
                           attempts: 0, receivedAt: received, completedAt: completed, source: source),
        NotificationResult(requestId: "r-4", idempotencyKey: "r-4", outcome: .failed, aicc: .init(httpStatus: 503),
                           error: .init(code: "aicc.http.503", message: "service unavailable"),
                           attempts: 8, receivedAt: received, completedAt: completed, source: source),
        NotificationResult(requestId: "r-5", idempotencyKey: "r-5", outcome: .expired,
                           error: .init(code: "dispatch.deadline", message: "expiresAt passed"),
                           attempts: 2, receivedAt: received, completedAt: completed, source: source),
        NotificationResult(requestId: "r-6", idempotencyKey: "r-6", outcome: .indeterminate,
                           error: .init(code: "aicc.timeout", message: "no answer"),
                           attempts: 1, receivedAt: received, completedAt: completed, source: source),
        NotificationResult(requestId: "r-7 {}:/é", idempotencyKey: "r-7 {}:/é", outcome: .suppressed,
                           error: StormBudget(window: .seconds(300), burst: 3).suppressedError,
                           attempts: 0, receivedAt: received, completedAt: completed, source: source),
        NotificationResult(requestId: "r-8", idempotencyKey: "r-7 {}:/é", outcome: .duplicate,
                           duplicateOf: .init(requestId: "r-7 {}:/é", outcome: .suppressed),
                           attempts: 0, receivedAt: received, completedAt: completed, source: source),
    ]

    static let statuses: [CallStatusEvent] = [
        CallStatusEvent(requestId: "r-1", idempotencyKey: "k-1",
                        report: ["callSerialNo": "1202501310815000001", "called": "8613800000002", "releaseReason": "1", "talkDuration": "21"],
                        receivedAt: completed, attributes: ["team": "dba"]),
        CallStatusEvent(requestId: "r-7", idempotencyKey: "r-7", report: ["callSerialNo": "99", "called": "123", "releaseReason": "4"],
                        receivedAt: completed),
        CallStatusEvent(requestId: "r-8", idempotencyKey: "r-8", report: ["callSerialNo": "98", "called": "123"], receivedAt: completed),
    ]

    /// Writes `documents` to files `prefix-N.json` in a new temp directory.
    func writeJSON(_ documents: [[UInt8]], prefix: String) throws -> (URL, [URL]) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aicc-notify-events-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var files: [URL] = []
        for (index, bytes) in documents.enumerated() {
            let file = dir.appendingPathComponent("\(prefix)-\(index).json")
            try Data(bytes).write(to: file)
            files.append(file)
        }
        return (dir, files)
    }

    /// `values` through `JSONEncoder` (sorted keys), written by ``writeJSON(_:prefix:)``.
    func writeAll<T: Encodable>(_ values: [T], prefix: String) throws -> (URL, [URL]) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try self.writeJSON(values.map { Array(try encoder.encode($0)) }, prefix: prefix)
    }

    /// Every document is valid against `schema` (Python's `jsonschema`).
    func expectValid(_ documents: [[UInt8]], schema: URL, prefix: String) throws {
        let (dir, files) = try self.writeJSON(documents, prefix: prefix)
        defer { try? FileManager.default.removeItem(at: dir) }
        let verdicts = try TestSupport.pythonVerdicts(schema: schema, paths: files)
        #expect(verdicts.count == files.count)
        for (path, verdict) in verdicts {
            #expect(verdict.valid, "\(path): \(verdict.reason)")
        }
    }

    @Test func resultsValidateAgainstTheResultSchema() throws {
        // The bytes the worker publishes (NotificationResult.jsonBytes).
        try self.expectValid(Self.results.map(\.jsonBytes), schema: TestSupport.resultSchema, prefix: "result")
    }

    @Test func callStatusEventsValidateAgainstTheirSchema() throws {
        // The bytes the worker publishes (CallStatusEvent.jsonBytes).
        try self.expectValid(Self.statuses.map(\.jsonBytes), schema: TestSupport.callStatusSchema, prefix: "status")
    }

    @Test func schemaRejectsAResultThatBreaksItsRules() throws {
        // A duplicate without duplicateOf and an accepted result with an error: the schema must say no,
        // which shows the positive checks above can fail.
        var duplicate = Self.results[2]
        duplicate.duplicateOf = nil
        var accepted = Self.results[0]
        accepted.error = .init(code: "aicc.retcode.8", message: "x")
        let (dir, files) = try writeAll([duplicate, accepted], prefix: "broken")
        defer { try? FileManager.default.removeItem(at: dir) }
        let verdicts = try TestSupport.pythonVerdicts(schema: TestSupport.resultSchema, paths: files)
        #expect(verdicts.count == 2)
        #expect(verdicts.values.allSatisfy { !$0.valid })
    }

    @Test func encodingIsExactAndRoundTrips() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(Self.results[1]), as: UTF8.self)
        #expect(json == #"{"attempts":0,"attributes":{},"completedAt":"2025-01-31T08:15:00.480Z","error":{"code":"validation.called.format","message":"called must be digits"},"idempotencyKey":"r-2","outcome":"rejected","receivedAt":"2025-01-31T08:15:00.120Z","requestId":"r-2","source":{"offset":1042,"partition":3,"topic":"notification.requests"}}"#)
        for result in Self.results {
            #expect(try JSONDecoder().decode(NotificationResult.self, from: encoder.encode(result)) == result)
        }
        for status in Self.statuses {
            #expect(try JSONDecoder().decode(CallStatusEvent.self, from: encoder.encode(status)) == status)
        }
    }

    /// The worker writes result events without `JSONEncoder`
    /// (`jsonBytes`): byte for byte what `JSONEncoder` writes with sorted
    /// keys and unescaped slashes, and for strings only JSONText escapes
    /// differently, the same value.
    @Test func handWrittenResultEncodingAgreesWithJSONEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var many = Self.results
        var attributed = Self.results[0]
        attributed.attributes = ["b": "2", "a": "1", "zone/région": "eu-west \"quoted\" \\ back", "emoji": "🔔"]
        many.append(attributed)
        var bare = Self.results[3]
        bare.aicc = .init(httpStatus: 500, retCode: nil, retMsg: "no code")
        many.append(bare)
        for result in many {
            #expect(String(decoding: result.jsonBytes, as: UTF8.self) == String(decoding: try encoder.encode(result), as: UTF8.self))
        }
        var edgy = Self.results[1]
        edgy.requestId = "tab\tnew\nline\u{8}bell\u{7}del\u{7F}sep\u{2028}end"
        edgy.error = .init(code: "x", message: "\u{0}nul \u{C} formfeed \u{2029}")
        edgy.attributes = ["k\n": "v\r"]
        let decoded = try JSONDecoder().decode(NotificationResult.self, from: Data(edgy.jsonBytes))
        #expect(decoded == edgy)
        #expect(!edgy.jsonBytes.contains(0x0A) && !edgy.jsonBytes.contains(0x7F))
    }

    /// The worker writes call-status events without `JSONEncoder` too.
    @Test func handWrittenCallStatusEncodingAgreesWithJSONEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var many = Self.statuses
        many.append(CallStatusEvent(
            requestId: "r-9 {}:/é", idempotencyKey: "k/9",
            report: ["callSerialNo": "97", "releaseReason": "0", "talkDuration": "0", "zone/région": "eu \"q\" \\ 🔔"],
            receivedAt: Self.completed, attributes: ["b": "2", "a": "1", "emoji": "🔔", "Z": "upper"]))
        many.append(CallStatusEvent(requestId: "r-10", idempotencyKey: "r-10", report: [:], receivedAt: Self.received))
        for status in many {
            #expect(String(decoding: status.jsonBytes, as: UTF8.self) == String(decoding: try encoder.encode(status), as: UTF8.self))
            #expect(try JSONDecoder().decode(CallStatusEvent.self, from: Data(status.jsonBytes)) == status)
        }
        #expect(String(decoding: Self.statuses[1].jsonBytes, as: UTF8.self)
            == #"{"attributes":{},"callSerialNo":"99","idempotencyKey":"r-7","raw":{"callSerialNo":"99","called":"123","releaseReason":"4"},"receivedAt":"2025-01-31T08:15:00.480Z","releaseReason":"4","requestId":"r-7","status":"unanswered"}"#)
    }

    /// A call-status event echoes the attributes of the stored result, read
    /// without decoding the rest of it.
    @Test func attributesAreReadFromAStoredResult() {
        var result = Self.results[0]
        result.attributes = ["team": "dba", "zone/région": "eu \"q\" 🔔"]
        #expect(NotificationResult.attributes(inJSON: result.jsonBytes) == result.attributes)
        #expect(NotificationResult.attributes(inJSON: Self.results[1].jsonBytes) == [:])
        #expect(NotificationResult.attributes(inJSON: Array("not json".utf8)) == [:])
        #expect(NotificationResult.attributes(inJSON: Array(#"{"attributes":{"a":1}}"#.utf8)) == [:])
        #expect(NotificationResult.attributes(inJSON: Array(#"{"attributes":"x"}"#.utf8)) == [:])
    }

    @Test func handWrittenExamplesDecode() throws {
        for file in try TestSupport.jsonFiles(in: TestSupport.examplesDir.appendingPathComponent("result")) {
            _ = try JSONDecoder().decode(NotificationResult.self, from: Data(contentsOf: file))
        }
        let status = try JSONDecoder().decode(
            CallStatusEvent.self, from: Data(contentsOf: TestSupport.examplesDir.appendingPathComponent("call-status/answered.json")))
        #expect(status.status == .answered && status.playedToEnd == true && status.talkDurationSeconds == 21)
    }

    @Test func callStatusNormalization() {
        #expect(Self.statuses.map(\.status) == [.answered, .unanswered, .unknown])
        #expect(Self.statuses.map(\.playedToEnd) == [true, nil, nil])
        #expect(["0", "1", "4", "6", "8", "9", "10", "999", "3", nil].map { CallStatus(releaseReason: $0) }
            == [.answered, .answered, .unanswered, .failed, .failed, .failed, .failed, .failed, .unknown, .unknown])
    }

    @Test func deadLetterHeaderNames() {
        #expect(DeadLetterHeader.all == ["dlq.error.code", "dlq.error.message", "dlq.source.topic", "dlq.source.partition",
                                         "dlq.source.offset", "dlq.failed.at", "dlq.worker.id"])
        let documented = (try? String(contentsOf: TestSupport.schemasDir.appendingPathComponent("dead-letter-headers.md"), encoding: .utf8)) ?? ""
        for name in DeadLetterHeader.all {
            #expect(documented.contains("`\(name)`"), "\(name) is not in dead-letter-headers.md")
        }
    }
}
