/// The numeric limits of notification-request v1, in one place.
///
/// They match `schemas/notification-request.v1.schema.json` (a test reads the
/// schema and compares). Lengths count Unicode code points (Unicode scalars),
/// as JSON Schema's `maxLength` does.
public enum ContractLimits {
    /// Largest accepted record value, in bytes (64 KiB).
    public static let maxBytes = 65_536
    /// Deepest accepted JSON nesting (the root container is level 1).
    public static let maxDepth = 32
    /// `requestId` and `idempotencyKey`: 1...256 characters, none of them a
    /// control character (whatever else producers use: `/`, `{`, `"`, spaces,
    /// non-ASCII).
    public static let identifierMaxLength = 256
    /// `called`: 3...20 digits after an optional `+`.
    public static let calledDigits = 3...20
    /// `callerPresent`: 3...24 digits.
    public static let callerPresentDigits = 3...24
    /// The encoded AICC `voiceContent` string: at most 1000 characters.
    public static let voiceContentMaxLength = 1000
    /// A voice id: 1...64 characters from `A-Z a-z 0-9 _ -`.
    public static let voiceIdMaxLength = 64
    /// `priority`: 1 (highest) to 9 (lowest, the default).
    public static let priorityRange = 1...9
    /// Default `priority`.
    public static let defaultPriority = 9
    /// `attributes`: at most this many entries.
    public static let attributesMaxCount = 32
    /// An attribute key: 1...64 characters from `A-Z a-z 0-9 . _ : -`.
    public static let attributeKeyMaxLength = 64
    /// An attribute value: at most 256 characters.
    public static let attributeValueMaxLength = 256
    /// All attribute keys and values together: at most 4096 characters.
    public static let attributesMaxTotalLength = 4096
}
