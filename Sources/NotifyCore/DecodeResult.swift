/// What ``RequestDecoder`` made of one record.
///
/// The worker's rule (product §4): a `valid` request is dispatched. Anything else
/// publishes a `rejected` result when a ``requestId`` could be read (any
/// non-empty string, even one that breaks the identifier rules), and goes to
/// the dead-letter topic when it is ``Kind/undecodable`` or has no valid
/// `requestId` (see ``shouldDeadLetter`` and ``shouldPublishRejected``).
public struct DecodeResult: Sendable, Hashable {
    /// The classification.
    public enum Kind: Sendable, Hashable {
        /// A valid notification-request.
        case valid
        /// A notification-request (a JSON object, possibly in an accepted
        /// CloudEvent) that breaks one or more rules.
        case invalid
        /// Not a notification-request at all: not UTF-8, not JSON, not an
        /// object, too large, too deep, duplicate keys, a malformed CloudEvent
        /// or one of a type this worker does not accept.
        case undecodable
    }

    /// The classification.
    public var kind: Kind
    /// The request, when ``kind`` is `valid`.
    public var request: NotificationRequest?
    /// Every error found; empty exactly when ``kind`` is `valid`.
    public var errors: [ContractError]
    /// The request id when one could be read: the document's `requestId` when
    /// it is a non-empty string (valid or not), else the CloudEvent id (it
    /// stands in for a missing `requestId`). For a CloudEvent refused for its
    /// type (`kafka.cloudEvents.types`), the CloudEvent id.
    public var requestId: String?
    /// The idempotency key to key a result with: a non-empty string
    /// `idempotencyKey`, else ``requestId``.
    public var idempotencyKey: String?
    /// The request's attributes when they could be read and are valid, else `[:]`.
    public var attributes: [String: String]
    /// The CloudEvent envelope, when the record was one.
    public var cloudEvent: CloudEventInfo?

    /// Creates a result (used by the decoder and tests).
    public init(
        kind: Kind, request: NotificationRequest? = nil, errors: [ContractError] = [], requestId: String? = nil,
        idempotencyKey: String? = nil, attributes: [String: String] = [:], cloudEvent: CloudEventInfo? = nil
    ) {
        self.kind = kind
        self.request = request
        self.errors = errors
        self.requestId = requestId
        self.idempotencyKey = idempotencyKey
        self.attributes = attributes
        self.cloudEvent = cloudEvent
    }

    /// Whether the record goes to the dead-letter topic.
    public var shouldDeadLetter: Bool {
        switch kind {
        case .valid: false
        case .invalid: requestId.map { !NotificationRequest.isValidIdentifier($0) } ?? true
        case .undecodable: true
        }
    }

    /// Whether a `rejected` notification-result is published for the record.
    public var shouldPublishRejected: Bool {
        kind != .valid && requestId != nil
    }
}

/// The CloudEvents envelope of a record.
public struct CloudEventInfo: Sendable, Hashable {
    /// How the event was carried (CloudEvents Kafka protocol binding).
    public enum Mode: String, Sendable, Hashable {
        /// `ce_*` headers, data in the record value.
        case binary
        /// `content-type: application/cloudevents+json`, the whole event in the value.
        case structured
    }

    /// Binary or structured.
    public var mode: Mode
    /// `id`.
    public var id: String
    /// `source`.
    public var source: String
    /// `type`.
    public var type: String
    /// `specversion`.
    public var specVersion: String
    /// Structured mode: the event's `traceparent` attribute (CloudEvents'
    /// distributed-tracing extension), when it is a string; unchecked. Binary
    /// mode carries it as the `ce_traceparent` header instead.
    public var traceParent: String?
    /// Structured mode: the event's `tracestate` attribute.
    public var traceState: String?

    /// Creates the envelope description.
    public init(
        mode: Mode, id: String, source: String, type: String, specVersion: String,
        traceParent: String? = nil, traceState: String? = nil
    ) {
        self.mode = mode
        self.id = id
        self.source = source
        self.type = type
        self.specVersion = specVersion
        self.traceParent = traceParent
        self.traceState = traceState
    }
}
