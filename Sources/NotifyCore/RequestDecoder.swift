import Foundation

/// Turns record bytes (plain JSON, or a CloudEvent in binary or structured
/// Kafka mode) into a classified ``DecodeResult``. Pure: no I/O, never traps,
/// bounded work for any input.
///
/// Order of checks: size (`decode.too_large`), CloudEvent envelope
/// (`cloudevents.*`), UTF-8 (`decode.utf8`), nesting (`decode.too_deep`),
/// JSON syntax (`decode.json`, `decode.duplicate_key`), object
/// (`decode.not_object`), then the notification-request rules (`validation.*`).
public struct RequestDecoder: Sendable {
    /// The CloudEvent `type` this project's own producers (the demo, the
    /// router's documentation) use. Any `type` is accepted unless
    /// ``Configuration/acceptedCloudEventTypes`` restricts them (product §3).
    public static let defaultCloudEventType = "com.aicc-notify.notification.request.v1"

    /// Decoder settings.
    public struct Configuration: Sendable, Hashable {
        /// Largest accepted record value in bytes (default 64 KiB).
        public var maxBytes: Int
        /// Deepest accepted JSON nesting (default 32; the root is level 1).
        public var maxDepth: Int
        /// CloudEvent `type`s accepted as notification-requests
        /// (`kafka.cloudEvents.types`). Default `nil`: any type whose data is
        /// a request (producers name their own types, product §3). An event
        /// refused for its type is `undecodable` (dead-lettered) and, its id
        /// being readable, also gets a `rejected` result under that id.
        public var acceptedCloudEventTypes: Set<String>?

        /// Creates a configuration; the defaults are the contract's.
        public init(
            maxBytes: Int = ContractLimits.maxBytes,
            maxDepth: Int = ContractLimits.maxDepth,
            acceptedCloudEventTypes: Set<String>? = nil
        ) {
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
            self.acceptedCloudEventTypes = acceptedCloudEventTypes
        }
    }

    /// The settings.
    public var configuration: Configuration

    /// Creates a decoder.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Decodes one Kafka record: a CloudEvent when its `content-type` header is
    /// `application/cloudevents+json` (structured) or it has a `ce_specversion`
    /// header (binary); a plain notification-request JSON document otherwise.
    public func decode(_ record: InboundRecord) -> DecodeResult {
        if let contentType = record.header(named: "content-type"), let value = contentType.value,
           let text = String(validating: value, as: UTF8.self)
        {
            let media = Self.mediaType(text)
            if media == "application/cloudevents+json" {
                return decodeStructured(record.value)
            }
            if media.hasPrefix("application/cloudevents-batch") {
                return undecodable(.cloudEventsContentType, "", "batched CloudEvents (\(media)) are not supported")
            }
        }
        if record.header(named: "ce_specversion") != nil {
            return decodeBinary(record)
        }
        return decodeDocument(record.value)
    }

    /// Decodes a plain notification-request JSON document (no CloudEvent).
    public func decodeDocument(_ bytes: [UInt8]) -> DecodeResult {
        switch parseObject(bytes) {
        case .failure(let error):
            return DecodeResult(kind: .undecodable, errors: [error])
        case .success(let object):
            return validate(object, cloudEvent: nil)
        }
    }

    // MARK: - CloudEvents

    private func decodeBinary(_ record: InboundRecord) -> DecodeResult {
        var errors: [ContractError] = []
        func header(_ name: String, _ code: ContractErrorCode) -> String? {
            guard let header = record.header(named: name), let bytes = header.value, !bytes.isEmpty else {
                errors.append(ContractError(code, path: "", message: "CloudEvent header \(name) is missing or empty"))
                return nil
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                errors.append(ContractError(.cloudEventsHeader, path: "", message: "CloudEvent header \(name) is not UTF-8"))
                return nil
            }
            return text
        }
        let specVersion = header("ce_specversion", .cloudEventsSpecVersion)
        let id = header("ce_id", .cloudEventsID)
        let source = header("ce_source", .cloudEventsSource)
        let type = header("ce_type", .cloudEventsType)
        if let specVersion, specVersion != "1.0" {
            errors.append(ContractError(.cloudEventsSpecVersion, path: "", message: "ce_specversion must be 1.0"))
        }
        if let contentType = record.header(named: "content-type")?.value {
            let text = String(validating: contentType, as: UTF8.self) ?? ""
            if !Self.isJSONMediaType(Self.mediaType(text)) {
                errors.append(ContractError(.cloudEventsDataContentType, path: "",
                                            message: "CloudEvent data must be JSON (content-type application/json)"))
            }
        }
        guard errors.isEmpty, let specVersion, let id, let source, let type else {
            return DecodeResult(kind: .undecodable, errors: errors)
        }
        let info = CloudEventInfo(mode: .binary, id: id, source: source, type: type, specVersion: specVersion)
        if let refused = self.refusedType(info, path: "") { return refused }
        return decodeData(record.value, cloudEvent: info)
    }

    private func decodeStructured(_ bytes: [UInt8]) -> DecodeResult {
        let envelope: [String: JSONValue]
        switch parseObject(bytes) {
        case .failure(let error): return DecodeResult(kind: .undecodable, errors: [error])
        case .success(let object): envelope = object
        }
        var errors: [ContractError] = []
        func attribute(_ name: String, _ code: ContractErrorCode) -> String? {
            guard case .string(let text)? = envelope[name], !text.isEmpty else {
                errors.append(ContractError(code, path: "/" + name, message: "CloudEvent attribute \(name) must be a non-empty string"))
                return nil
            }
            return text
        }
        let specVersion = attribute("specversion", .cloudEventsSpecVersion)
        let id = attribute("id", .cloudEventsID)
        let source = attribute("source", .cloudEventsSource)
        let type = attribute("type", .cloudEventsType)
        if let specVersion, specVersion != "1.0" {
            errors.append(ContractError(.cloudEventsSpecVersion, path: "/specversion", message: "specversion must be 1.0"))
        }
        if let contentType = envelope["datacontenttype"] {
            guard case .string(let text) = contentType, Self.isJSONMediaType(Self.mediaType(text)) else {
                errors.append(ContractError(.cloudEventsDataContentType, path: "/datacontenttype",
                                            message: "CloudEvent data must be JSON (datacontenttype application/json)"))
                return DecodeResult(kind: .undecodable, errors: errors)
            }
        }
        let data = envelope["data"]
        let dataBase64 = envelope["data_base64"]
        var dataBytes: [UInt8]?
        switch (data, dataBase64) {
        case (nil, nil):
            errors.append(ContractError(.cloudEventsData, path: "/data", message: "the CloudEvent has no data"))
        case (.some, .some):
            errors.append(ContractError(.cloudEventsData, path: "/data_base64", message: "the CloudEvent has both data and data_base64"))
        case (nil, .some(let encoded)):
            if case .string(let text) = encoded, let decoded = Data(base64Encoded: text) {
                dataBytes = Array(decoded)
            } else {
                errors.append(ContractError(.cloudEventsData, path: "/data_base64", message: "data_base64 must be a Base64 string"))
            }
        case (.some, nil):
            break
        }
        guard errors.isEmpty, let specVersion, let id, let source, let type else {
            return DecodeResult(kind: .undecodable, errors: errors)
        }
        var info = CloudEventInfo(mode: .structured, id: id, source: source, type: type, specVersion: specVersion)
        if case .string(let traceParent)? = envelope["traceparent"] { info.traceParent = traceParent }
        if case .string(let traceState)? = envelope["tracestate"] { info.traceState = traceState }
        if let refused = self.refusedType(info, path: "/type") { return refused }
        if let dataBytes {
            return decodeData(dataBytes, cloudEvent: info)
        }
        guard case .object(let object)? = data else {
            return undecodable(.decodeNotObject, "/data", "CloudEvent data must be a notification-request object, not \(data?.typeName ?? "absent")",
                               requestIdFallback: info)
        }
        return validate(object, cloudEvent: info)
    }

    /// Parses CloudEvent data bytes; the event id stays readable when they are broken.
    private func decodeData(_ bytes: [UInt8], cloudEvent: CloudEventInfo) -> DecodeResult {
        switch parseObject(bytes) {
        case .failure(let error):
            var result = DecodeResult(kind: .undecodable, errors: [error], cloudEvent: cloudEvent)
            result.requestId = cloudEvent.id
            result.idempotencyKey = cloudEvent.id
            return result
        case .success(let object):
            return validate(object, cloudEvent: cloudEvent)
        }
    }

    // MARK: - Shared steps

    private func parseObject(_ bytes: [UInt8]) -> Result<[String: JSONValue], ContractError> {
        if bytes.count > configuration.maxBytes {
            return .failure(ContractError(.decodeTooLarge, path: "", message: "the value is \(bytes.count) bytes, more than \(configuration.maxBytes)"))
        }
        switch StrictJSONParser(maxDepth: configuration.maxDepth).parse(bytes) {
        case .failure(let error):
            return .failure(error)
        case .success(.object(let object)):
            return .success(object)
        case .success(let other):
            return .failure(ContractError(.decodeNotObject, path: "", message: "a notification-request must be a JSON object, not \(other.typeName)"))
        }
    }

    private func validate(_ object: [String: JSONValue], cloudEvent: CloudEventInfo?) -> DecodeResult {
        var object = object
        if object["requestId"] == nil, let cloudEvent {
            object["requestId"] = .string(cloudEvent.id)  // ce_id stands in for a missing requestId
        }
        switch NotificationRequest.validate(.object(object)) {
        case .success(let request):
            return DecodeResult(kind: .valid, request: request, requestId: request.requestId,
                                idempotencyKey: request.idempotencyKey, attributes: request.attributes, cloudEvent: cloudEvent)
        case .failure(let failure):
            // Any non-empty string requestId is readable, even one that breaks
            // the identifier rules itself: the producer learns of the
            // rejection under the id it used (product §4).
            var requestId = object["requestId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            if requestId == nil, let cloudEvent {
                requestId = cloudEvent.id
            }
            var idempotencyKey = requestId
            if let key = object["idempotencyKey"]?.stringValue, !key.isEmpty, requestId != nil {
                idempotencyKey = key
            }
            var attributes: [String: String] = [:]
            if case .object(let members)? = object["attributes"],
               !failure.errors.contains(where: { $0.code.hasPrefix("validation.attributes.") })
            {
                attributes = members.compactMapValues(\.stringValue)
            }
            return DecodeResult(kind: .invalid, errors: failure.errors, requestId: requestId,
                                idempotencyKey: idempotencyKey, attributes: attributes, cloudEvent: cloudEvent)
        }
    }

    /// An otherwise well-formed CloudEvent whose `type` is not in
    /// `kafka.cloudEvents.types`: undecodable (dead-lettered, its data not
    /// read), with its id as the request id of a `rejected` result (§3, §4).
    private func refusedType(_ info: CloudEventInfo, path: String) -> DecodeResult? {
        guard let accepted = configuration.acceptedCloudEventTypes, !accepted.contains(info.type) else { return nil }
        return undecodable(
            .cloudEventsType, path, "CloudEvent type is not one this worker accepts (kafka.cloudEvents.types): \(Self.clip(info.type))",
            requestIdFallback: info)
    }

    private func undecodable(_ code: ContractErrorCode, _ path: String, _ message: String, requestIdFallback: CloudEventInfo? = nil) -> DecodeResult {
        var result = DecodeResult(kind: .undecodable, errors: [ContractError(code, path: path, message: message)], cloudEvent: requestIdFallback)
        if let info = requestIdFallback {
            result.requestId = info.id
            result.idempotencyKey = info.id
        }
        return result
    }

    /// `type/subtype` of a media type, lower-cased, without parameters.
    static func mediaType(_ text: String) -> String {
        let head = text.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return head.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// `application/json`, `text/json` or any `+json` type.
    static func isJSONMediaType(_ media: String) -> Bool {
        media == "application/json" || media == "text/json" || media.hasSuffix("+json")
    }

    /// Shortens a producer-supplied string for a message.
    static func clip(_ text: String) -> String {
        let scalars = text.unicodeScalars
        let safe = String(String.UnicodeScalarView(scalars.prefix(80).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
        return scalars.count > 80 ? safe + "…" : safe
    }
}
