/// AICC's `voiceContent` string: voice ids and texts joined by `~`, a text
/// written `$text$` (aicc-api.md §2). The one place that knows this encoding.
public enum VoiceContent {
    /// One piece of a voice notification.
    public enum Segment: Sendable, Hashable {
        /// A recorded voice from the tenant's IVR voice list.
        case voiceID(String)
        /// A text read out by TTS.
        case text(String)
    }

    /// AICC's limit on the encoded string, in characters (counted as UTF-16
    /// code units, like the Java `String.length()` the vendor checks with).
    public static let maximumLength = 1000

    /// Why content cannot be encoded.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// No segments, or an empty string.
        case empty
        /// Segment `index` is empty.
        case emptySegment(index: Int)
        /// Segment `index` holds `$` or `~`, which the encoding cannot escape.
        case forbiddenCharacter(index: Int, character: Character)
        /// The encoded string is longer than ``VoiceContent/maximumLength``.
        case tooLong(length: Int)
        /// A raw string is not a `~`-joined list of ids and `$text$` pieces.
        case malformed(index: Int)

        public var description: String {
            switch self {
            case .empty: "voice content is empty"
            case .emptySegment(let index): "segment \(index) is empty"
            case .forbiddenCharacter(let index, let character): "segment \(index) contains '\(character)'"
            case .tooLong(let length): "encoded voice content has \(length) characters (at most \(VoiceContent.maximumLength))"
            case .malformed(let index): "piece \(index) is neither a voice id nor a $text$"
            }
        }
    }

    /// Encodes segments into the AICC string, refusing what AICC cannot carry.
    public static func encode(_ segments: [Segment]) throws(Failure) -> String {
        if segments.isEmpty { throw .empty }
        var pieces: [String] = []
        pieces.reserveCapacity(segments.count)
        for (index, segment) in segments.enumerated() {
            let value: String
            switch segment {
            case .voiceID(let id): value = id
            case .text(let text): value = text
            }
            if value.isEmpty { throw .emptySegment(index: index) }
            if let bad = value.first(where: { $0 == "$" || $0 == "~" }) {
                throw .forbiddenCharacter(index: index, character: bad)
            }
            switch segment {
            case .voiceID(let id): pieces.append(id)
            case .text(let text): pieces.append("$\(text)$")
            }
        }
        let encoded = pieces.joined(separator: "~")
        try validate(encoded)
        return encoded
    }

    /// Checks a raw AICC string: not empty, at most 1000 characters, every
    /// `~`-separated piece a non-empty voice id or a `$text$` with a non-empty
    /// text and no `$` inside.
    public static func validate(_ raw: String) throws(Failure) {
        if raw.isEmpty { throw .empty }
        let length = raw.utf16.count
        if length > maximumLength { throw .tooLong(length: length) }
        for (index, piece) in raw.split(separator: "~", omittingEmptySubsequences: false).enumerated() {
            if piece.isEmpty { throw .malformed(index: index) }
            if piece.first == "$" {
                guard piece.count >= 3, piece.last == "$", !piece.dropFirst().dropLast().contains("$") else {
                    throw .malformed(index: index)
                }
            } else if piece.contains("$") {
                throw .malformed(index: index)
            }
        }
    }

    /// Splits a valid raw AICC string back into segments.
    public static func decode(_ raw: String) throws(Failure) -> [Segment] {
        try validate(raw)
        return raw.split(separator: "~", omittingEmptySubsequences: false).map { piece in
            piece.first == "$" ? .text(String(piece.dropFirst().dropLast())) : .voiceID(String(piece))
        }
    }
}
