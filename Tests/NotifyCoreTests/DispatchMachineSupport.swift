import Foundation
import NotifyCore

/// Builders and action views for the DispatchMachine tests.
enum Dispatch {
    static let t0 = Date(timeIntervalSince1970: 1_893_456_000)  // 2030-01-01T00:00:00Z
    static let p0 = TopicPartition(topic: "requests", partition: 0)
    static let p1 = TopicPartition(topic: "requests", partition: 1)

    static func request(_ requestId: String, key: String? = nil, expiresAt: String? = nil) throws -> NotificationRequest {
        try NotificationRequest(
            requestId: requestId, idempotencyKey: key, called: "+8613800000001", voiceContent: .raw("1~$a$"),
            expiresAt: expiresAt, attributes: ["alert": requestId])
    }

    static func record(_ offset: Int64, key: String?, request: NotificationRequest) -> DispatchRecord {
        record(p0, offset, key: key, request: request)
    }

    static func record(
        _ partition: TopicPartition, _ offset: Int64, key: String?, request: NotificationRequest
    ) -> DispatchRecord {
        DispatchRecord(
            id: RecordID(partition: partition, offset: offset), key: key.map { Array($0.utf8) },
            decoded: DecodeResult(
                kind: .valid, request: request, requestId: request.requestId, idempotencyKey: request.idempotencyKey,
                attributes: request.attributes))
    }

    static func id(_ offset: Int64) -> RecordID { id(p0, offset) }

    static func id(_ partition: TopicPartition, _ offset: Int64) -> RecordID {
        RecordID(partition: partition, offset: offset)
    }

    static let ok = NotificationResult.AICCAnswer(httpStatus: 200, retCode: "0", retMsg: "success")
    static let busy = NotificationResult.AICCAnswer(httpStatus: 503)
    static let transient = CallAnswer.transient(error: .init(code: "aicc.http.503", message: "unavailable"), aicc: busy)
    static let timeout = CallAnswer.inDoubt(error: .init(code: "aicc.timeout", message: "no answer"))
    static func accepted(_ serial: String) -> CallAnswer { .accepted(callSerialNo: serial, aicc: ok) }
}

extension Array where Element == DispatchMachine.Action {
    var claims: [RecordID] {
        compactMap { if case .claim(let id, _) = $0 { id } else { nil } }
    }
    var calls: [(id: RecordID, attempt: Int)] {
        compactMap { if case .callAICC(let id, _, let attempt) = $0 { (id, attempt) } else { nil } }
    }
    var recorded: [(id: RecordID, result: NotificationResult, inDoubt: Bool)] {
        compactMap {
            if case .recordOutcome(let id, let result, let inDoubt) = $0 { (id, result, inDoubt) } else { nil }
        }
    }
    var publishedResults: [(id: RecordID, payload: ResultPayload)] {
        compactMap { if case .publishResult(let id, let payload) = $0 { (id, payload) } else { nil } }
    }
    var freshResults: [NotificationResult] {
        publishedResults.compactMap { if case .fresh(let result) = $0.payload { result } else { nil } }
    }
    var deadLetters: [RecordID] {
        compactMap { if case .publishDeadLetter(let id, _) = $0 { id } else { nil } }
    }
    var retries: [(id: RecordID, at: Date)] {
        compactMap { if case .scheduleRetry(let id, let at) = $0 { (id, at) } else { nil } }
    }
    var releasedClaims: [RecordID] {
        compactMap { if case .releaseClaim(let id, _) = $0 { id } else { nil } }
    }
    var commits: [CommitPosition] {
        flatMap { action -> [CommitPosition] in if case .commit(let positions) = action { positions } else { [] } }
    }
    var paused: [TopicPartition] {
        flatMap { action -> [TopicPartition] in if case .pause(let partitions) = action { partitions } else { [] } }
    }
    var resumed: [TopicPartition] {
        flatMap { action -> [TopicPartition] in if case .resume(let partitions) = action { partitions } else { [] } }
    }
}
