import Foundation

/// The fields of a `createVoiceNotification` body as the simulator read them.
struct CreateFields {
    var called: String?
    var callerPresent: String?
    var callerPresentGiven = false
    var voiceContent: String?
    var priority: String?
    var callBackUrl: String?
}

/// AICC's body checks (aicc-api.md §2), in the order the simulator applies them:
/// `called` (5), `callerPresent` (7), `voiceContent` (8), `callBackUrl` (9), `priority` (36).
enum CreateValidation {
    /// Reads `object` and returns the retCode AICC would refuse it with, or `nil`.
    static func check(_ object: [String: Any], configuration: AICCSimulator.Configuration) -> (fields: CreateFields, retCode: String?) {
        var fields = CreateFields()
        fields.called = object["called"] as? String
        if let value = object["callerPresent"], !(value is NSNull) {
            fields.callerPresentGiven = true
            fields.callerPresent = value as? String
        }
        fields.voiceContent = object["voiceContent"] as? String
        if let value = object["priority"], !(value is NSNull) {
            fields.priority = (value as? String) ?? "\(value)"
        }
        var callBackUrlGiven = false
        var callBackUrlValid = true
        if let value = object["callBackUrl"], !(value is NSNull) {
            callBackUrlGiven = true
            if let encoded = value as? String, let url = decodeCallbackURL(encoded) {
                fields.callBackUrl = url
            } else {
                callBackUrlValid = false
            }
        }

        guard let called = fields.called, isPhoneNumber(called) else { return (fields, "5") }
        if fields.callerPresentGiven {
            guard let caller = fields.callerPresent,
                  configuration.accessCodes.contains(caller) || (isDigits(caller) && (11...14).contains(caller.count))
            else { return (fields, "7") }
        }
        guard let voiceContent = fields.voiceContent, isValidVoiceContent(voiceContent, knownIDs: configuration.knownVoiceIDs) else {
            return (fields, "8")
        }
        if callBackUrlGiven, !callBackUrlValid { return (fields, "9") }
        if let value = object["priority"], !(value is NSNull) {
            guard let text = value as? String, text.count == 1, let digit = Int(text), (1...9).contains(digit) else {
                return (fields, "36")
            }
        }
        return (fields, nil)
    }

    /// 3 to 32 digits, optionally after one `+`.
    static func isPhoneNumber(_ text: String) -> Bool {
        let digits = text.hasPrefix("+") ? String(text.dropFirst()) : text
        return (3...32).contains(digits.count) && isDigits(digits)
    }

    static func isDigits(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { ("0"..."9").contains($0) }
    }

    /// Non-empty, ≤ 1000 UTF-16 code units; each `~` piece a `$text$` (non-empty, no `$`)
    /// or a voice id of letters and digits (known, when a list is configured).
    static func isValidVoiceContent(_ text: String, knownIDs: Set<String>?) -> Bool {
        guard !text.isEmpty, text.utf16.count <= 1000 else { return false }
        for piece in text.split(separator: "~", omittingEmptySubsequences: false) {
            if piece.first == "$" {
                let inner = piece.dropFirst().dropLast()
                guard piece.count >= 3, piece.last == "$", !inner.contains("$") else { return false }
            } else {
                guard !piece.isEmpty, piece.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("a"..."z").contains($0) || ("A"..."Z").contains($0) })
                else { return false }
                if let knownIDs, !knownIDs.contains(String(piece)) { return false }
            }
        }
        return true
    }

    /// Base64 (standard alphabet, padded) of a UTF-8 `http(s)://host...` URL made only of
    /// letters, digits and `-:./_#?&`; `nil` otherwise.
    static func decodeCallbackURL(_ encoded: String) -> String? {
        guard let data = Data(base64Encoded: encoded), let url = String(data: data, encoding: .utf8) else { return nil }
        let allowed = url.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || "-:./_#?&".unicodeScalars.contains(scalar)
        }
        guard allowed else { return nil }
        let rest: Substring
        if url.hasPrefix("https://") {
            rest = url.dropFirst(8)
        } else if url.hasPrefix("http://") {
            rest = url.dropFirst(7)
        } else {
            return nil
        }
        let host = rest.prefix { $0 != "/" && $0 != ":" && $0 != "?" && $0 != "#" }
        return host.isEmpty ? nil : url
    }
}
