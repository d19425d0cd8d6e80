public import AICCWire
extension AICCSimulator {
    /// The simulator's settings. Everything but ``host`` and ``port`` can be changed while
    /// it runs, with ``AICCSimulator/configure(_:)`` or `POST /_sim/config`.
    public struct Configuration: Sendable {
        /// The address to listen on. Default `127.0.0.1`.
        public var host: String = "127.0.0.1"
        /// The port; 0 (the default) picks a free one, reported by ``AICCSimulator/port()``.
        public var port: Int = 0
        /// The app key `tokenByAkSk` accepts (and `X-APP-Key` must carry). Default `sim-app-key`.
        public var appKey: String = "sim-app-key"
        /// The app secret `tokenByAkSk` accepts. Default `sim-app-secret`.
        public var appSecret: String = "sim-app-secret"
        /// The lifetime of issued tokens. `nil` (the default) grants what `X-Token-Expire` asks for.
        /// The granted value is what `Expires` reports; an expired token gets HTTP 401.
        public var tokenLifetime: Duration?
        /// Fixed delay before each `createVoiceNotification` answer. Default 0.
        public var latency: Duration = .zero
        /// Extra uniform random delay, 0...jitter, added to ``latency``. Default 0.
        public var jitter: Duration = .zero
        /// Fault rates applied to valid calls. Default: none.
        public var faults: FaultRates = FaultRates()
        /// How long a `hang` fault holds the request before answering 500. Default 60 s.
        public var hangDuration: Duration = .seconds(60)
        /// More calls in flight than this get `retCode` 1. `nil` (the default): no limit.
        public var maxConcurrentCalls: Int?
        /// What an outage (``AICCSimulator/outage(for:)``) answers. Default HTTP 500.
        public var outageAnswer: OutageAnswer = .http500
        /// Which endpoints an outage takes down. Default both; `.create` leaves
        /// `tokenByAkSk` answering (on AICC they are separate services).
        public var outageScope: OutageScope = .all
        /// Access codes accepted as `callerPresent`, besides any 11–14 digit number
        /// (the anonymization feature is taken as on). Default `["95555"]`.
        public var accessCodes: Set<String> = ["95555"]
        /// Voice ids AICC knows; an unknown id gets `retCode` 8. `nil` (the default): any
        /// id of letters and digits is known.
        public var knownVoiceIDs: Set<String>?
        /// Seed of the random generator behind faults, jitter, serial numbers and nonces.
        /// `nil` (the default) seeds from the system generator.
        public var seed: UInt64?
        /// Status reports pushed after accepted calls.
        public var callback: Callback = Callback()
        /// When set, every authenticated, valid call gets this answer instead of being
        /// accepted (to drive any documented `retCode` or HTTP status). Default `nil`.
        public var scriptedAnswer: ScriptedAnswer?

        public init() {}
    }

    /// Probabilities (0...1, summing to at most 1) of faults for each valid call.
    public struct FaultRates: Sendable, Hashable, Codable {
        /// Answer HTTP 500.
        public var http500: Double = 0
        /// Answer `retCode` 1 (a task is in progress).
        public var retCode1: Double = 0
        /// Answer `retCode` 3 (creation failed).
        public var retCode3: Double = 0
        /// Hold the request for ``Configuration/hangDuration`` (the client times out).
        public var hang: Double = 0
        /// Close the connection without answering.
        public var drop: Double = 0

        public init(http500: Double = 0, retCode1: Double = 0, retCode3: Double = 0, hang: Double = 0, drop: Double = 0) {
            self.http500 = http500
            self.retCode1 = retCode1
            self.retCode3 = retCode3
            self.hang = hang
            self.drop = drop
        }
    }

    /// A fixed answer for valid calls.
    public enum ScriptedAnswer: Sendable, Hashable, Codable {
        /// HTTP 200 with this `retCode` (and no `result`, unless it is `0`).
        case retCode(String)
        /// This HTTP status with a small JSON error body.
        case httpStatus(Int)
    }

    /// Which endpoints an outage window takes down.
    public enum OutageScope: String, Sendable, Hashable, Codable {
        /// `tokenByAkSk` and `createVoiceNotification`.
        case all
        /// `createVoiceNotification` only: tokens are still issued.
        case create
    }

    /// What the simulator answers during an outage window.
    public enum OutageAnswer: String, Sendable, Hashable, Codable {
        /// HTTP 500 to every request, token requests included.
        case http500
        /// Close every connection without answering.
        case drop
    }

    /// Settings of the status-report pusher (aicc-api.md §3).
    public struct Callback: Sendable {
        /// Delay between accepting a call and posting its release event. Default 0.
        public var delay: Duration = .zero
        /// The tenant's callback shared key; when set (the vendor wants ≥ 16 characters) the
        /// report carries `timestamp`, `nonce` and `signature`. Default: unset, unsigned.
        public var sharedKey: String?
        /// The digest used for signing. Default HMAC-SHA256 keyed with the shared key.
        public var signatureAlgorithm: CallbackSignature.Algorithm = .hmacSHA256
        /// The unit of `timestamp`. Default milliseconds since the epoch.
        public var timestampUnit: CallbackSignature.TimestampUnit = .milliseconds
        /// Which `releaseReason` each report carries. Default: always 1.
        public var releaseReason: ReleaseReasonPolicy = .fixed(1)
        /// The `releaseReason` of every report of a call to one of these
        /// numbers (as the create request's `called`), before
        /// ``releaseReason`` is asked: e.g. `["+8613800000001": 4]` makes
        /// that phone ring out unanswered. Default: empty.
        public var releaseReasonByNumber: [String: Int] = [:]
        /// How many extra copies of each report to post. Default 0.
        public var duplicates: Int = 0
        /// Per-post timeout. Default 5 s.
        public var timeout: Duration = .seconds(5)

        public init() {}
    }

    /// How release reasons are chosen.
    public enum ReleaseReasonPolicy: Sendable, Hashable {
        /// Always this reason.
        case fixed(Int)
        /// Each report takes the next reason of the list, round robin.
        case cycle([Int])

        /// Every reason the vendor documents: 0, 1, 4, 6, 8, 9, 10, 999.
        public static let allDocumented: ReleaseReasonPolicy = .cycle([0, 1, 4, 6, 8, 9, 10, 999])
    }
}
