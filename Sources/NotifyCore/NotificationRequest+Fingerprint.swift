extension NotificationRequest {
    /// Identifies what shapes the AICC call: `called`, `callerPresent`, the
    /// encoded `voiceContent` and `priority` (not `requestId`, `idempotencyKey`,
    /// `statusCallback`, `expiresAt` or `attributes`). Two requests with the same
    /// idempotency key and the same fingerprint are the same notification.
    ///
    /// Lower-case hex SHA-256 of ``fingerprintCanonicalString``.
    public var fingerprint: String {
        Self.fingerprint(called: called, callerPresent: callerPresent, voiceContent: voiceContent, priority: priority)
    }

    /// The canonical text hashed into ``fingerprint``:
    ///
    ///     "aicc-notify.fingerprint.v1" + F(called) + F(callerPresent) + F(voiceContent) + F(priority)
    ///     F(s)      = "\n" + <number of UTF-8 bytes of s, decimal> + ":" + s
    ///     F(absent) = "\n-"
    ///
    /// `priority` is written in decimal; `voiceContent` is the encoded AICC string.
    public var fingerprintCanonicalString: String {
        Self.fingerprintCanonicalString(called: called, callerPresent: callerPresent, voiceContent: voiceContent, priority: priority)
    }

    /// The fingerprint of the given call-shaping fields (see ``fingerprint``).
    public static func fingerprint(called: String, callerPresent: String?, voiceContent: String, priority: Int) -> String {
        SHA256Digest.hexDigest(
            fingerprintCanonicalString(called: called, callerPresent: callerPresent, voiceContent: voiceContent, priority: priority).utf8)
    }

    /// The canonical text of the given fields (see ``fingerprintCanonicalString``).
    public static func fingerprintCanonicalString(called: String, callerPresent: String?, voiceContent: String, priority: Int) -> String {
        func field(_ value: String?) -> String {
            guard let value else { return "\n-" }
            return "\n\(value.utf8.count):\(value)"
        }
        return "aicc-notify.fingerprint.v1" + field(called) + field(callerPresent) + field(voiceContent) + field(String(priority))
    }
}
