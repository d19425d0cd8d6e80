/// One reason why a record is not a valid notification request.
///
/// - `code` is stable and machine-readable: `decode.<rule>`,
///   `cloudevents.<rule>` or `validation.<field>.<rule>` (see ``ContractErrorCode``).
///   It is used verbatim in result events, dead-letter headers, logs and metrics.
/// - `path` is a JSON Pointer (RFC 6901) into the notification-request document:
///   `""` is the whole document, `/voiceContent/2/text` the `text` of the third
///   segment, `/attributes/a~1b` the attribute named `a/b`. For a request carried
///   in a CloudEvent the path points into the event's data; errors about the
///   envelope point at the envelope attribute (`/type`) in structured mode and
///   are `""` in binary mode (the message names the header).
/// - `message` is for humans; it never echoes phone numbers or other field values.
public struct ContractError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// Stable dotted code, e.g. `validation.called.format`.
    public var code: String
    /// JSON Pointer to the offending value; `""` for the whole document.
    public var path: String
    /// Human-readable explanation.
    public var message: String

    /// Creates an error with an arbitrary code.
    public init(code: String, path: String, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    /// Creates an error with one of the contract's known codes.
    public init(_ code: ContractErrorCode, path: String, message: String) {
        self.init(code: code.rawValue, path: path, message: message)
    }

    public var description: String {
        "\(path.isEmpty ? "(root)" : path): \(code): \(message)"
    }
}

/// Every error code the contract layer produces.
public enum ContractErrorCode: String, Sendable, CaseIterable {
    // Document-level: the bytes are not a JSON object we can read.
    case decodeTooLarge = "decode.too_large"
    case decodeUTF8 = "decode.utf8"
    case decodeTooDeep = "decode.too_deep"
    case decodeJSON = "decode.json"
    case decodeDuplicateKey = "decode.duplicate_key"
    case decodeNotObject = "decode.not_object"

    // CloudEvents envelope.
    case cloudEventsContentType = "cloudevents.content_type"
    case cloudEventsHeader = "cloudevents.header"
    case cloudEventsSpecVersion = "cloudevents.specversion"
    case cloudEventsID = "cloudevents.id"
    case cloudEventsSource = "cloudevents.source"
    case cloudEventsType = "cloudevents.type"
    case cloudEventsDataContentType = "cloudevents.datacontenttype"
    case cloudEventsData = "cloudevents.data"

    // Fields of notification-request v1.
    case requestIdRequired = "validation.requestId.required"
    case requestIdType = "validation.requestId.type"
    case requestIdLength = "validation.requestId.length"
    case requestIdCharset = "validation.requestId.charset"
    case idempotencyKeyType = "validation.idempotencyKey.type"
    case idempotencyKeyLength = "validation.idempotencyKey.length"
    case idempotencyKeyCharset = "validation.idempotencyKey.charset"
    case calledRequired = "validation.called.required"
    case calledType = "validation.called.type"
    case calledFormat = "validation.called.format"
    case callerPresentType = "validation.callerPresent.type"
    case callerPresentFormat = "validation.callerPresent.format"
    case voiceContentRequired = "validation.voiceContent.required"
    case voiceContentType = "validation.voiceContent.type"
    case voiceContentEmpty = "validation.voiceContent.empty"
    case voiceContentFormat = "validation.voiceContent.format"
    case voiceContentLength = "validation.voiceContent.length"
    case voiceContentSegment = "validation.voiceContent.segment"
    case voiceContentVoiceId = "validation.voiceContent.voiceId"
    case voiceContentText = "validation.voiceContent.text"
    case priorityType = "validation.priority.type"
    case priorityRange = "validation.priority.range"
    case statusCallbackType = "validation.statusCallback.type"
    case expiresAtType = "validation.expiresAt.type"
    case expiresAtFormat = "validation.expiresAt.format"
    case attributesType = "validation.attributes.type"
    case attributesCount = "validation.attributes.count"
    case attributesKey = "validation.attributes.key"
    case attributesValue = "validation.attributes.value"
    case attributesSize = "validation.attributes.size"

    /// Whether the code is about the CloudEvents envelope (not expressible in a
    /// plain notification-request document).
    public var isCloudEvents: Bool { rawValue.hasPrefix("cloudevents.") }
}
