public import Foundation

/// A validated notification-request v1, with defaults applied and the voice
/// content encoded into the AICC string.
///
/// Get one from ``RequestDecoder`` (record bytes) or
/// ``NotificationRequest/validate(_:)`` (parsed JSON); both run the same rules as
/// `schemas/notification-request.v1.schema.json`.
public struct NotificationRequest: Sendable, Hashable {
    /// Unique per request; echoed in every event about it.
    public var requestId: String
    /// The idempotency key (defaults to ``requestId``).
    public var idempotencyKey: String
    /// The number to call.
    public var called: String
    /// The number shown to the callee; `nil` = the tenant's access code.
    public var callerPresent: String?
    /// The encoded AICC `voiceContent` string (at most 1000 characters).
    public var voiceContent: String
    /// 1 (highest) to 9 (lowest); default 9.
    public var priority: Int
    /// Whether AICC should push status reports; default `true`.
    public var statusCallback: Bool
    /// Never call after this instant.
    public var expiresAt: Date?
    /// Opaque correlation data, echoed into result and call-status events.
    public var attributes: [String: String]

    /// Validates the given fields with the contract's rules and applies defaults.
    ///
    /// - Throws: ``ValidationFailure`` with every broken rule.
    public init(
        requestId: String,
        idempotencyKey: String? = nil,
        called: String,
        callerPresent: String? = nil,
        voiceContent: VoiceContent,
        priority: Int? = nil,
        statusCallback: Bool? = nil,
        expiresAt: String? = nil,
        attributes: [String: String]? = nil
    ) throws(ValidationFailure) {
        var object: [String: JSONValue] = [
            "requestId": .string(requestId),
            "called": .string(called),
            "voiceContent": voiceContent.json,
        ]
        if let idempotencyKey { object["idempotencyKey"] = .string(idempotencyKey) }
        if let callerPresent { object["callerPresent"] = .string(callerPresent) }
        if let priority { object["priority"] = .number(Double(priority)) }
        if let statusCallback { object["statusCallback"] = .bool(statusCallback) }
        if let expiresAt { object["expiresAt"] = .string(expiresAt) }
        if let attributes { object["attributes"] = .object(attributes.mapValues { .string($0) }) }
        switch Self.validate(.object(object)) {
        case .success(let request): self = request
        case .failure(let failure): throw failure
        }
    }

    /// Memberwise, for the validator only: values are already checked.
    init(
        checkedRequestId requestId: String, idempotencyKey: String, called: String, callerPresent: String?,
        voiceContent: String, priority: Int, statusCallback: Bool, expiresAt: Date?, attributes: [String: String]
    ) {
        self.requestId = requestId
        self.idempotencyKey = idempotencyKey
        self.called = called
        self.callerPresent = callerPresent
        self.voiceContent = voiceContent
        self.priority = priority
        self.statusCallback = statusCallback
        self.expiresAt = expiresAt
        self.attributes = attributes
    }
}

/// A request broke one or more rules; `errors` lists every one of them.
public struct ValidationFailure: Error, Sendable, Hashable {
    /// Every broken rule, in document order.
    public var errors: [ContractError]

    /// Wraps the given errors.
    public init(errors: [ContractError]) {
        self.errors = errors
    }
}
