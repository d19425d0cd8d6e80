public import Foundation

/// notification-result v1: exactly one per request, on the results topic.
///
/// Encodes (with any `JSONEncoder`) to what `schemas/notification-result.v1.schema.json`
/// describes: optional fields are omitted when `nil`, timestamps are RFC 3339
/// UTC strings with milliseconds.
public struct NotificationResult: Sendable, Hashable, Codable {
    /// What happened to the request.
    public enum Outcome: String, Sendable, Hashable, Codable, CaseIterable {
        /// AICC returned a call serial number.
        case accepted
        /// Invalid request, or a permanent AICC refusal.
        case rejected
        /// Retries on transient errors were exhausted.
        case failed
        /// `expiresAt` passed before a call was placed.
        case expired
        /// Another request with this key was already dispatched.
        case duplicate
        /// A dispatch may or may not have reached AICC.
        case indeterminate
        /// Over the called number's storm budget (product §10): not called.
        case suppressed
    }

    /// The original request of a `duplicate`.
    public struct DuplicateOf: Sendable, Hashable, Codable {
        /// The original's request id.
        public var requestId: String
        /// The original's outcome.
        public var outcome: Outcome

        /// Creates the reference.
        public init(requestId: String, outcome: Outcome) {
            self.requestId = requestId
            self.outcome = outcome
        }
    }

    /// The last answer AICC gave.
    public struct AICCAnswer: Sendable, Hashable, Codable {
        /// HTTP status code.
        public var httpStatus: Int
        /// AICC's `retCode`, when the body had one.
        public var retCode: String?
        /// AICC's `retMsg`, when the body had one.
        public var retMsg: String?

        /// Creates the answer.
        public init(httpStatus: Int, retCode: String? = nil, retMsg: String? = nil) {
            self.httpStatus = httpStatus
            self.retCode = retCode
            self.retMsg = retMsg
        }
    }

    /// Why the outcome is not `accepted`/`duplicate`.
    public struct ErrorInfo: Sendable, Hashable, Codable {
        /// Stable dotted code (`validation.called.format`, `aicc.retcode.8`, ...).
        public var code: String
        /// Human-readable message.
        public var message: String

        /// Creates the error.
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }

        /// The error of a contract violation.
        public init(_ error: ContractError) {
            self.init(code: error.code, message: error.message)
        }
    }

    /// Where the request was read.
    public struct Source: Sendable, Hashable, Codable {
        /// Topic name.
        public var topic: String
        /// Partition.
        public var partition: Int
        /// Offset.
        public var offset: Int64

        /// Creates the source.
        public init(topic: String, partition: Int, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }
    }

    /// The request's id.
    public var requestId: String
    /// The request's idempotency key (its `requestId` when it had none).
    public var idempotencyKey: String
    /// The request's attributes, echoed (`[:]` when none or unreadable).
    public var attributes: [String: String]
    /// What happened.
    public var outcome: Outcome
    /// The original, on `duplicate` only.
    public var duplicateOf: DuplicateOf?
    /// AICC's call serial number, when known.
    public var callSerialNo: String?
    /// AICC's last answer, when there was one.
    public var aicc: AICCAnswer?
    /// Why, when the outcome is rejected, failed, expired or indeterminate.
    public var error: ErrorInfo?
    /// AICC create calls made for this request.
    public var attempts: Int
    /// When the worker read the request.
    public var receivedAt: Date
    /// When the outcome was reached.
    public var completedAt: Date
    /// Where the request was read.
    public var source: Source

    /// Creates a result.
    public init(
        requestId: String, idempotencyKey: String, attributes: [String: String] = [:], outcome: Outcome,
        duplicateOf: DuplicateOf? = nil, callSerialNo: String? = nil, aicc: AICCAnswer? = nil, error: ErrorInfo? = nil,
        attempts: Int, receivedAt: Date, completedAt: Date, source: Source
    ) {
        self.requestId = requestId
        self.idempotencyKey = idempotencyKey
        self.attributes = attributes
        self.outcome = outcome
        self.duplicateOf = duplicateOf
        self.callSerialNo = callSerialNo
        self.aicc = aicc
        self.error = error
        self.attempts = attempts
        self.receivedAt = receivedAt
        self.completedAt = completedAt
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case requestId, idempotencyKey, attributes, outcome, duplicateOf, callSerialNo, aicc, error, attempts
        case receivedAt, completedAt, source
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        requestId = try c.decode(String.self, forKey: .requestId)
        idempotencyKey = try c.decode(String.self, forKey: .idempotencyKey)
        attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        outcome = try c.decode(Outcome.self, forKey: .outcome)
        duplicateOf = try c.decodeIfPresent(DuplicateOf.self, forKey: .duplicateOf)
        callSerialNo = try c.decodeIfPresent(String.self, forKey: .callSerialNo)
        aicc = try c.decodeIfPresent(AICCAnswer.self, forKey: .aicc)
        error = try c.decodeIfPresent(ErrorInfo.self, forKey: .error)
        attempts = try c.decode(Int.self, forKey: .attempts)
        receivedAt = try c.decodeRFC3339(forKey: .receivedAt)
        completedAt = try c.decodeRFC3339(forKey: .completedAt)
        source = try c.decode(Source.self, forKey: .source)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(requestId, forKey: .requestId)
        try c.encode(idempotencyKey, forKey: .idempotencyKey)
        try c.encode(attributes, forKey: .attributes)
        try c.encode(outcome, forKey: .outcome)
        try c.encodeIfPresent(duplicateOf, forKey: .duplicateOf)
        try c.encodeIfPresent(callSerialNo, forKey: .callSerialNo)
        try c.encodeIfPresent(aicc, forKey: .aicc)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(RFC3339.format(receivedAt), forKey: .receivedAt)
        try c.encode(RFC3339.format(completedAt), forKey: .completedAt)
        try c.encode(source, forKey: .source)
    }
}

extension KeyedDecodingContainer {
    func decodeRFC3339(forKey key: Key) throws -> Date {
        let text = try decode(String.self, forKey: key)
        guard let date = RFC3339.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not an RFC 3339 date-time")
        }
        return date
    }
}
