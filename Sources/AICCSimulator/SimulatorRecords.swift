/// One `createVoiceNotification` request the simulator received, and its answer.
public struct RecordedCall: Sendable, Hashable, Codable {
    /// Arrival, in seconds since the Unix epoch.
    public var time: Double
    /// Arrival, in seconds since the simulator was created (monotonic clock).
    public var uptime: Double
    /// `called`, when the body had one as a string.
    public var called: String?
    /// Whether the body carried a non-null `callerPresent`.
    public var callerPresent: Bool
    /// `callerPresent` as sent.
    public var callerPresentValue: String?
    /// `voiceContent` as sent.
    public var voiceContent: String?
    /// `priority` as sent (AICC wants a string).
    public var priority: String?
    /// `callBackUrl` decoded from Base64, when it decoded.
    public var callBackUrl: String?
    /// The answer: `accepted`, `retCode N`, `http N`, `hang` or `drop`.
    public var answer: String
    /// The HTTP status answered (none for `drop`).
    public var httpStatus: Int?
    /// The `retCode` answered with HTTP 200.
    public var retCode: String?
    /// The call serial number of an accepted call.
    public var callSerialNo: String?
}

/// Counters of the simulator.
public struct SimulatorStats: Sendable, Hashable, Codable {
    /// Calls per `called` + `voiceContent` pair.
    public struct Target: Sendable, Hashable, Codable {
        public var called: String
        public var voiceContent: String
        /// Requests received for the pair.
        public var calls: Int
        /// Of those, accepted (a phone would ring).
        public var accepted: Int
    }

    /// `createVoiceNotification` requests received.
    public var totalCalls: Int = 0
    /// Of those, accepted.
    public var accepted: Int = 0
    /// `tokenByAkSk` requests received.
    public var tokenRequests: Int = 0
    /// Tokens issued.
    public var tokensIssued: Int = 0
    /// The most `createVoiceNotification` requests in flight at once.
    public var maxConcurrencySeen: Int = 0
    /// `createVoiceNotification` requests in flight now.
    public var inFlight: Int = 0
    /// Status reports posted and answered 2xx.
    public var callbacksDelivered: Int = 0
    /// Status reports whose post failed or was answered non-2xx.
    public var callbacksFailed: Int = 0
    /// Calls per target, sorted by `called` then `voiceContent`.
    public var targets: [Target] = []

    /// Requests received for `called` (and `voiceContent`, when given).
    public func calls(to called: String, voiceContent: String? = nil) -> Int {
        self.targets.filter { $0.called == called && (voiceContent == nil || $0.voiceContent == voiceContent) }.reduce(0) { $0 + $1.calls }
    }

    /// Accepted calls for `called` (and `voiceContent`, when given): how often that phone rang.
    public func acceptedCalls(to called: String, voiceContent: String? = nil) -> Int {
        self.targets.filter { $0.called == called && (voiceContent == nil || $0.voiceContent == voiceContent) }.reduce(0) { $0 + $1.accepted }
    }
}
