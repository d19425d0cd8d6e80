import Foundation

extension NotificationRequest {
    /// Validates a parsed notification-request document against every rule of
    /// notification-request v1 and returns the request with defaults applied,
    /// or every broken rule (not just the first) in document order.
    ///
    /// Unknown top-level members are ignored (forward compatibility); segment
    /// objects are closed. `null` is never a valid field value.
    public static func validate(_ document: JSONValue) -> Result<NotificationRequest, ValidationFailure> {
        guard case .object(let object) = document else {
            return .failure(ValidationFailure(errors: [
                ContractError(.decodeNotObject, path: JSONPointer.root,
                              message: "a notification-request must be a JSON object, not \(document.typeName)"),
            ]))
        }
        var validator = RequestFieldValidator()
        let request = validator.validate(object)
        if let request, validator.errors.isEmpty { return .success(request) }
        return .failure(ValidationFailure(errors: validator.errors))
    }

    /// Whether `value` is a well-formed `requestId`/`idempotencyKey`: 1-256
    /// Unicode scalars, none of them a control character (U+0000-U+001F,
    /// U+007F-U+009F). Anything else producers use is carried exactly.
    public static func isValidIdentifier(_ value: String) -> Bool {
        identifierLengthOK(value) && identifierCharsetOK(value)
    }

    static func identifierLengthOK(_ value: String) -> Bool {
        (1...ContractLimits.identifierMaxLength).contains(value.unicodeScalars.count)
    }

    static func identifierCharsetOK(_ value: String) -> Bool {
        value.unicodeScalars.allSatisfy { !Self.isControl($0) }
    }

    /// A C0 or C1 control character, or DEL (Unicode general category Cc).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}

/// Collects errors field by field, in schema order.
struct RequestFieldValidator {
    var errors: [ContractError] = []

    private mutating func fail(_ code: ContractErrorCode, _ field: String, _ message: String) {
        errors.append(ContractError(code, path: JSONPointer.appending(field, to: JSONPointer.root), message: message))
    }

    mutating func validate(_ object: [String: JSONValue]) -> NotificationRequest? {
        let requestId = identifier(object["requestId"], field: "requestId", required: true,
                                   codes: (.requestIdType, .requestIdLength, .requestIdCharset))
        let idempotencyKey = identifier(object["idempotencyKey"], field: "idempotencyKey", required: false,
                                        codes: (.idempotencyKeyType, .idempotencyKeyLength, .idempotencyKeyCharset))
        let called = called(object["called"])
        let callerPresent = callerPresent(object["callerPresent"])
        let voiceContent = voiceContent(object["voiceContent"])
        let priority = priority(object["priority"])
        let statusCallback = statusCallback(object["statusCallback"])
        let expiresAt = expiresAt(object["expiresAt"])
        let attributes = attributes(object["attributes"])

        guard errors.isEmpty, let requestId = requestId ?? nil, let called, let voiceContent, let priority, let statusCallback,
              let expiresAt, let attributes, let idempotencyKey, let callerPresent
        else { return nil }
        return NotificationRequest(
            checkedRequestId: requestId, idempotencyKey: idempotencyKey ?? requestId, called: called,
            callerPresent: callerPresent, voiceContent: voiceContent, priority: priority ?? ContractLimits.defaultPriority,
            statusCallback: statusCallback ?? true, expiresAt: expiresAt, attributes: attributes ?? [:])
    }

    // Each checker returns nil when the value is broken; for optional fields a
    // valid-but-absent value is `.some(nil)`.

    private mutating func identifier(
        _ value: JSONValue?, field: String, required: Bool,
        codes: (type: ContractErrorCode, length: ContractErrorCode, charset: ContractErrorCode)
    ) -> String?? {
        guard let value else {
            if required {
                fail(.requestIdRequired, field, "\(field) is required")
                return nil
            }
            return .some(nil)
        }
        guard case .string(let string) = value else {
            fail(codes.type, field, "\(field) must be a string, not \(value.typeName)")
            return nil
        }
        var ok = true
        if !NotificationRequest.identifierLengthOK(string) {
            fail(codes.length, field, "\(field) must be 1-\(ContractLimits.identifierMaxLength) characters long (is \(string.unicodeScalars.count))")
            ok = false
        }
        if !NotificationRequest.identifierCharsetOK(string) {
            fail(codes.charset, field, "\(field) must not contain control characters")
            ok = false
        }
        return ok ? .some(string) : nil
    }

    private mutating func called(_ value: JSONValue?) -> String? {
        guard let value else {
            fail(.calledRequired, "called", "called is required")
            return nil
        }
        guard case .string(let string) = value else {
            fail(.calledType, "called", "called must be a string, not \(value.typeName)")
            return nil
        }
        var digits = string.unicodeScalars[...]
        if digits.first == "+" { digits = digits.dropFirst() }
        guard ContractLimits.calledDigits.contains(digits.count), digits.allSatisfy(\.isASCIIDigit) else {
            fail(.calledFormat, "called", "called must be \(ContractLimits.calledDigits.lowerBound)-\(ContractLimits.calledDigits.upperBound) digits with an optional leading '+'")
            return nil
        }
        return string
    }

    private mutating func callerPresent(_ value: JSONValue?) -> String?? {
        guard let value else { return .some(nil) }
        guard case .string(let string) = value else {
            fail(.callerPresentType, "callerPresent", "callerPresent must be a string, not \(value.typeName)")
            return nil
        }
        let scalars = string.unicodeScalars
        guard ContractLimits.callerPresentDigits.contains(scalars.count), scalars.allSatisfy(\.isASCIIDigit) else {
            fail(.callerPresentFormat, "callerPresent", "callerPresent must be \(ContractLimits.callerPresentDigits.lowerBound)-\(ContractLimits.callerPresentDigits.upperBound) digits")
            return nil
        }
        return .some(string)
    }

    private mutating func voiceContent(_ value: JSONValue?) -> String? {
        let field = "voiceContent"
        let limit = ContractLimits.voiceContentMaxLength
        guard let value else {
            fail(.voiceContentRequired, field, "voiceContent is required")
            return nil
        }
        switch value {
        case .string(let string):
            let length = string.unicodeScalars.count
            if length == 0 {
                fail(.voiceContentEmpty, field, "voiceContent must not be empty")
                return nil
            }
            var ok = true
            if length > limit {
                fail(.voiceContentLength, field, "voiceContent is \(length) characters, more than \(limit)")
                ok = false
            }
            if !VoiceSegment.isValidRawVoiceContent(string) {
                fail(.voiceContentFormat, field, "voiceContent must be voice ids and $text$ pieces joined by '~' (texts without '$', '~' or control characters)")
                ok = false
            }
            return ok ? string : nil
        case .array(let items):
            if items.isEmpty {
                fail(.voiceContentEmpty, field, "voiceContent must have at least one segment")
                return nil
            }
            var segments: [VoiceSegment] = []
            var encodedLength = items.count - 1
            var ok = true
            for (index, item) in items.enumerated() {
                let path = JSONPointer.appending(index, to: JSONPointer.appending(field, to: JSONPointer.root))
                guard case .object(let members) = item, members.count == 1,
                      let (key, payload) = members.first, key == "voiceId" || key == "text"
                else {
                    errors.append(ContractError(.voiceContentSegment, path: path,
                                                message: "a segment must be an object with exactly one of voiceId or text"))
                    ok = false
                    continue
                }
                let payloadPath = JSONPointer.appending(key, to: path)
                guard case .string(let string) = payload else {
                    let code: ContractErrorCode = key == "voiceId" ? .voiceContentVoiceId : .voiceContentText
                    errors.append(ContractError(code, path: payloadPath, message: "\(key) must be a string, not \(payload.typeName)"))
                    ok = false
                    continue
                }
                if key == "voiceId" {
                    encodedLength += string.unicodeScalars.count
                    if VoiceSegment.isValidVoiceId(string) {
                        segments.append(.voiceId(string))
                    } else {
                        errors.append(ContractError(.voiceContentVoiceId, path: payloadPath,
                                                    message: "voiceId must be 1-\(ContractLimits.voiceIdMaxLength) characters from A-Z a-z 0-9 _ -"))
                        ok = false
                    }
                } else {
                    encodedLength += string.unicodeScalars.count + 2
                    if VoiceSegment.isValidText(string) {
                        segments.append(.text(string))
                    } else {
                        errors.append(ContractError(.voiceContentText, path: payloadPath,
                                                    message: "text must be non-empty and must not contain '$', '~' or control characters"))
                        ok = false
                    }
                }
            }
            if encodedLength > limit {
                fail(.voiceContentLength, field, "voiceContent encodes to \(encodedLength) characters, more than \(limit)")
                ok = false
            }
            return ok ? VoiceContent.segments(segments).encoded : nil
        default:
            fail(.voiceContentType, field, "voiceContent must be a string or an array of segments, not \(value.typeName)")
            return nil
        }
    }

    private mutating func priority(_ value: JSONValue?) -> Int?? {
        guard let value else { return .some(nil) }
        guard case .number(let number) = value, number.isFinite, number.rounded(.towardZero) == number else {
            fail(.priorityType, "priority", "priority must be an integer, not \(value.typeName)")
            return nil
        }
        let range = ContractLimits.priorityRange
        guard number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            fail(.priorityRange, "priority", "priority must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return .some(Int(number))
    }

    private mutating func statusCallback(_ value: JSONValue?) -> Bool?? {
        guard let value else { return .some(nil) }
        guard case .bool(let bool) = value else {
            fail(.statusCallbackType, "statusCallback", "statusCallback must be a boolean, not \(value.typeName)")
            return nil
        }
        return .some(bool)
    }

    private mutating func expiresAt(_ value: JSONValue?) -> Date?? {
        guard let value else { return .some(nil) }
        guard case .string(let string) = value else {
            fail(.expiresAtType, "expiresAt", "expiresAt must be an RFC 3339 date-time string, not \(value.typeName)")
            return nil
        }
        guard let date = RFC3339.parse(string) else {
            fail(.expiresAtFormat, "expiresAt", "expiresAt must be an RFC 3339 date-time with an offset, e.g. 2025-01-31T08:15:00Z")
            return nil
        }
        return .some(date)
    }

    private mutating func attributes(_ value: JSONValue?) -> [String: String]?? {
        let field = "attributes"
        guard let value else { return .some(nil) }
        guard case .object(let members) = value else {
            fail(.attributesType, field, "attributes must be an object of strings, not \(value.typeName)")
            return nil
        }
        var ok = true
        if members.count > ContractLimits.attributesMaxCount {
            fail(.attributesCount, field, "attributes has \(members.count) entries, more than \(ContractLimits.attributesMaxCount)")
            ok = false
        }
        var total = 0
        var result: [String: String] = [:]
        for key in members.keys.sorted() {
            let path = JSONPointer.appending(key, to: JSONPointer.appending(field, to: JSONPointer.root))
            let keyLength = key.unicodeScalars.count
            total += keyLength
            if !(1...ContractLimits.attributeKeyMaxLength).contains(keyLength)
                || !key.unicodeScalars.allSatisfy({ $0.isASCIIAlphanumeric || $0 == "." || $0 == "_" || $0 == ":" || $0 == "-" })
            {
                errors.append(ContractError(.attributesKey, path: path,
                                            message: "attribute keys must be 1-\(ContractLimits.attributeKeyMaxLength) characters from A-Z a-z 0-9 . _ : -"))
                ok = false
            }
            guard case .string(let string) = members[key]! else {
                errors.append(ContractError(.attributesValue, path: path,
                                            message: "attribute values must be strings, not \(members[key]!.typeName)"))
                ok = false
                continue
            }
            total += string.unicodeScalars.count
            if string.unicodeScalars.count > ContractLimits.attributeValueMaxLength {
                errors.append(ContractError(.attributesValue, path: path,
                                            message: "attribute values must be at most \(ContractLimits.attributeValueMaxLength) characters"))
                ok = false
            }
            result[key] = string
        }
        if total > ContractLimits.attributesMaxTotalLength {
            fail(.attributesSize, field, "attribute keys and values total \(total) characters, more than \(ContractLimits.attributesMaxTotalLength)")
            ok = false
        }
        return ok ? .some(result) : nil
    }
}
