public import Foundation

/// The normalized state of a finished AICC call, from its `releaseReason`.
public enum CallStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// The callee picked up (releaseReason 0 or 1).
    case answered
    /// The callee rejected the call or it rang out (releaseReason 4).
    case unanswered
    /// The call failed (releaseReason 6, 8, 9, 10, 999).
    case failed
    /// Any other or missing releaseReason.
    case unknown

    /// Maps AICC's `releaseReason` code.
    public init(releaseReason: String?) {
        switch releaseReason {
        case "0", "1": self = .answered
        case "4": self = .unanswered
        case "6", "8", "9", "10", "999": self = .failed
        default: self = .unknown
        }
    }
}

/// call-status v1: one per accepted AICC status report, on the call-status topic.
///
/// Encodes to what `schemas/call-status.v1.schema.json` describes.
public struct CallStatusEvent: Sendable, Hashable, Codable {
    /// The request's id.
    public var requestId: String
    /// The request's idempotency key.
    public var idempotencyKey: String
    /// AICC's call serial number.
    public var callSerialNo: String
    /// Normalized status.
    public var status: CallStatus
    /// AICC's `releaseReason`, as sent.
    public var releaseReason: String?
    /// `true` for releaseReason 1 (played to the end), `false` for 0, else `nil`.
    public var playedToEnd: Bool?
    /// AICC's `talkDuration` when it is a whole number of seconds.
    public var talkDurationSeconds: Int?
    /// The report exactly as AICC sent it.
    public var raw: [String: String]
    /// When the worker received the report.
    public var receivedAt: Date
    /// The request's attributes, echoed.
    public var attributes: [String: String]

    /// Creates the event from a raw AICC report, normalizing its fields.
    public init(
        requestId: String, idempotencyKey: String, report raw: [String: String], callSerialNo: String? = nil,
        receivedAt: Date, attributes: [String: String] = [:]
    ) {
        self.requestId = requestId
        self.idempotencyKey = idempotencyKey
        self.callSerialNo = callSerialNo ?? raw["callSerialNo"] ?? ""
        let releaseReason = raw["releaseReason"]
        self.status = CallStatus(releaseReason: releaseReason)
        self.releaseReason = releaseReason
        self.playedToEnd = switch releaseReason {
        case "1": true
        case "0": false
        default: nil
        }
        if let duration = raw["talkDuration"], let seconds = Int(duration), seconds >= 0 {
            self.talkDurationSeconds = seconds
        } else {
            self.talkDurationSeconds = nil
        }
        self.raw = raw
        self.receivedAt = receivedAt
        self.attributes = attributes
    }

    enum CodingKeys: String, CodingKey {
        case requestId, idempotencyKey, callSerialNo, status, releaseReason, playedToEnd, talkDurationSeconds
        case raw, receivedAt, attributes
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        requestId = try c.decode(String.self, forKey: .requestId)
        idempotencyKey = try c.decode(String.self, forKey: .idempotencyKey)
        callSerialNo = try c.decode(String.self, forKey: .callSerialNo)
        status = try c.decode(CallStatus.self, forKey: .status)
        releaseReason = try c.decodeIfPresent(String.self, forKey: .releaseReason)
        playedToEnd = try c.decodeIfPresent(Bool.self, forKey: .playedToEnd)
        talkDurationSeconds = try c.decodeIfPresent(Int.self, forKey: .talkDurationSeconds)
        raw = try c.decode([String: String].self, forKey: .raw)
        receivedAt = try c.decodeRFC3339(forKey: .receivedAt)
        attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(requestId, forKey: .requestId)
        try c.encode(idempotencyKey, forKey: .idempotencyKey)
        try c.encode(callSerialNo, forKey: .callSerialNo)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(releaseReason, forKey: .releaseReason)
        try c.encodeIfPresent(playedToEnd, forKey: .playedToEnd)
        try c.encodeIfPresent(talkDurationSeconds, forKey: .talkDurationSeconds)
        try c.encode(raw, forKey: .raw)
        try c.encode(RFC3339.format(receivedAt), forKey: .receivedAt)
        try c.encode(attributes, forKey: .attributes)
    }
}
