/// One `createVoiceNotification` request (aicc-api.md §2).
public struct VoiceNotification: Sendable, Hashable {
    /// The number to call. Required.
    public var called: String
    /// The number shown to the callee; `nil` lets AICC use the tenant's access code.
    public var callerPresent: String?
    /// The encoded AICC voice content (see ``VoiceContent/encode(_:)``), at most 1000 characters.
    public var voiceContent: String
    /// The plain status-report URL; the client sends it Base64-encoded. `nil`: no report.
    public var callbackURL: String?
    /// 1 (highest) to 9; `nil` leaves it out (AICC's default is 9). Sent as a string.
    public var priority: Int?

    public init(called: String, callerPresent: String? = nil, voiceContent: String, callbackURL: String? = nil, priority: Int? = nil) {
        self.called = called
        self.callerPresent = callerPresent
        self.voiceContent = voiceContent
        self.callbackURL = callbackURL
        self.priority = priority
    }

    /// Builds a request from voice segments.
    public init(called: String, callerPresent: String? = nil, segments: [VoiceContent.Segment], callbackURL: String? = nil, priority: Int? = nil) throws(VoiceContent.Failure) {
        self.init(called: called, callerPresent: callerPresent, voiceContent: try VoiceContent.encode(segments), callbackURL: callbackURL, priority: priority)
    }
}

/// AICC accepted the call (`retCode` 0).
public struct VoiceNotificationAccepted: Sendable, Hashable {
    /// AICC's call serial number.
    public var callSerialNo: String
    /// AICC's answer (HTTP status, `retCode`, `retMsg`), for the result event.
    public var answer: AICCAnswer
    /// The number of HTTP exchanges made (2 when a 401 forced a token refresh).
    public var exchanges: Int

    public init(callSerialNo: String, answer: AICCAnswer, exchanges: Int) {
        self.callSerialNo = callSerialNo
        self.answer = answer
        self.exchanges = exchanges
    }
}
