/// The `voiceContent` of a request, as a producer may write it.
public enum VoiceContent: Sendable, Hashable {
    /// The raw AICC string: voice ids and `$text$` pieces joined by `~`.
    case raw(String)
    /// Segments that encode to the AICC string.
    case segments([VoiceSegment])

    /// The AICC `voiceContent` string this encodes to (not validated).
    public var encoded: String {
        switch self {
        case .raw(let string): string
        case .segments(let segments): segments.map(\.encoded).joined(separator: "~")
        }
    }

    /// The JSON this is written as in a notification-request.
    public var json: JSONValue {
        switch self {
        case .raw(let string): .string(string)
        case .segments(let segments): .array(segments.map(\.json))
        }
    }
}

/// One piece of a voice notification.
public enum VoiceSegment: Sendable, Hashable {
    /// A recording from the tenant's IVR voice list.
    case voiceId(String)
    /// Text read out by TTS; may not contain `$`, `~` or control characters.
    case text(String)

    /// The AICC encoding: the id itself, or `$text$`.
    public var encoded: String {
        switch self {
        case .voiceId(let id): id
        case .text(let text): "$" + text + "$"
        }
    }

    /// The JSON segment object.
    public var json: JSONValue {
        switch self {
        case .voiceId(let id): .object(["voiceId": .string(id)])
        case .text(let text): .object(["text": .string(text)])
        }
    }

    /// Whether `id` is a well-formed voice id: 1-64 of `A-Z a-z 0-9 _ -`.
    public static func isValidVoiceId(_ id: String) -> Bool {
        let scalars = id.unicodeScalars
        guard (1...ContractLimits.voiceIdMaxLength).contains(scalars.count) else { return false }
        return scalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "_" || $0 == "-" }
    }

    /// Whether `text` is a well-formed TTS text: non-empty, without `$`, `~`
    /// or control characters (U+0000-U+001F, U+007F).
    public static func isValidText(_ text: String) -> Bool {
        guard !text.isEmpty else { return false }
        return text.unicodeScalars.allSatisfy { $0 != "$" && $0 != "~" && $0.value >= 0x20 && $0.value != 0x7F }
    }

    /// Whether `string` follows the raw AICC grammar `piece(~piece)*`, where a
    /// piece is a voice id or `$text$`.
    public static func isValidRawVoiceContent(_ string: String) -> Bool {
        let pieces = string.unicodeScalars.split(separator: "~", omittingEmptySubsequences: false)
        return pieces.allSatisfy { piece in
            let text = String(String.UnicodeScalarView(piece))
            if piece.count >= 3, piece.first == "$", piece.last == "$" {
                return isValidText(String(String.UnicodeScalarView(piece.dropFirst().dropLast())))
            }
            return isValidVoiceId(text)
        }
    }
}

extension Unicode.Scalar {
    var isASCIIAlphanumeric: Bool {
        ("0"..."9").contains(self) || ("A"..."Z").contains(self) || ("a"..."z").contains(self)
    }

    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
