/// An error from the AICC client.
///
/// Modelled on the errors of the swift-server libraries: a struct with a stable,
/// dotted ``code`` (safe to use as a metric label or as the `error.code` of a
/// result event), the class the worker needs to decide what to do
/// (``outcomeClass``, ``isRetriable``), whether the request reached AICC
/// (``delivery``), and the last AICC answer when there was one (``answer``).
public struct AICCError: Error, Sendable, CustomStringConvertible {
    /// A stable dotted error code, such as `aicc.retcode.8`, `aicc.http.500`,
    /// `aicc.timeout`, `aicc.connect` or `aicc.auth.credentials`.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { self.rawValue }

        /// The request was sent but no answer came before the deadline: in doubt.
        public static let timeout = Code(rawValue: "aicc.timeout")
        /// No connection could be made (refused, unreachable, connect timeout): never sent.
        public static let connect = Code(rawValue: "aicc.connect")
        /// The connection was lost after the request was sent: in doubt.
        public static let connectionLost = Code(rawValue: "aicc.connection.lost")
        /// The caller's task was cancelled; ``AICCError/delivery`` says whether the request had been sent.
        public static let cancelled = Code(rawValue: "aicc.cancelled")
        /// The caller's `willSend` step failed; nothing was sent.
        public static let presendFailed = Code(rawValue: "aicc.presend.failed")
        /// `tokenByAkSk` refused the app key / app secret: an operator problem (an outage), not a bad request.
        public static let authCredentials = Code(rawValue: "aicc.auth.credentials")
        /// `tokenByAkSk` answered 200 with a body that holds no usable token.
        public static let authResponseInvalid = Code(rawValue: "aicc.auth.response.invalid")
        /// `tokenByAkSk` could not be reached or timed out.
        public static let authUnavailable = Code(rawValue: "aicc.auth.unavailable")
        /// `createVoiceNotification` answered 2xx with a body that cannot be read,
        /// or with `retCode` 0 and no call serial number: the call may exist.
        public static let responseInvalid = Code(rawValue: "aicc.response.invalid")
        /// The voice content cannot be encoded or breaks AICC's rules (never sent).
        public static let voiceContentInvalid = Code(rawValue: "aicc.voicecontent.invalid")
        /// A request field breaks AICC's rules before sending (priority out of range, empty number...).
        public static let requestInvalid = Code(rawValue: "aicc.request.invalid")
        /// The client configuration is unusable (base URL...).
        public static let configurationInvalid = Code(rawValue: "aicc.configuration.invalid")

        /// `aicc.retcode.<retCode>` for a non-zero AICC `retCode` (sanitised to letters and digits).
        public static func retCode(_ retCode: String) -> Code {
            Code(rawValue: "aicc.retcode.\(labelSafe(retCode))")
        }

        /// `aicc.http.<status>` for a non-2xx answer of `createVoiceNotification`.
        public static func httpStatus(_ status: Int) -> Code {
            Code(rawValue: "aicc.http.\(status)")
        }

        /// `aicc.auth.http.<status>` for a non-2xx answer of `tokenByAkSk` other than 401/403.
        public static func authHTTPStatus(_ status: Int) -> Code {
            Code(rawValue: "aicc.auth.http.\(status)")
        }

        static func labelSafe(_ raw: String) -> String {
            let kept = raw.unicodeScalars.filter { ("0"..."9").contains($0) || ("a"..."z").contains($0) || ("A"..."Z").contains($0) }
            let text = String(String.UnicodeScalarView(kept.prefix(16)))
            return text.isEmpty ? "unknown" : text
        }
    }

    /// Whether the request reached AICC.
    public enum Delivery: String, Sendable, Hashable {
        /// The request certainly did not reach AICC (connect error, local validation, no token).
        case notSent
        /// AICC answered; the answer says no call was created.
        case answered
        /// The request was sent and no usable answer came back: AICC may have placed the call.
        case inDoubt
    }

    /// The stable code.
    public var code: Code
    /// What the worker should do: ``AICCOutcomeClass/transient`` (back off and retry),
    /// ``AICCOutcomeClass/permanent`` (reject), ``AICCOutcomeClass/inDoubt`` (in-doubt
    /// policy) or ``AICCOutcomeClass/outage`` (credentials refused: pause, alert operators).
    public var outcomeClass: AICCOutcomeClass
    /// Whether the request reached AICC.
    public var delivery: Delivery
    /// AICC's answer (HTTP status, `retCode`, `retMsg`) when there was one.
    public var answer: AICCAnswer?
    /// A description of the underlying transport error, for logs (never contains credentials).
    public var underlying: String?

    public init(
        code: Code,
        outcomeClass: AICCOutcomeClass,
        delivery: Delivery,
        answer: AICCAnswer? = nil,
        underlying: String? = nil
    ) {
        self.code = code
        self.outcomeClass = outcomeClass
        self.delivery = delivery
        self.answer = answer
        self.underlying = underlying
    }

    /// True when trying the same request again later may succeed and cannot place a
    /// second call: transient failures and refused credentials (after the operator
    /// fixes them). False for permanent refusals and for in-doubt attempts.
    public var isRetriable: Bool {
        switch self.outcomeClass {
        case .transient, .outage: true
        case .accepted, .permanent, .inDoubt: false
        }
    }

    /// True when the request was sent and AICC may have placed the call.
    public var isInDoubt: Bool { self.delivery == .inDoubt }

    /// A short, fixed English description that holds no request data, vendor text
    /// or secrets: safe for metric labels and for the `error.message` of a result.
    public var summary: String {
        if let retCode = self.answer?.retCode, self.code.rawValue.hasPrefix("aicc.retcode.") {
            return AICCRetCode.summary(for: retCode)
        }
        switch self.code {
        case .timeout: return "request sent, no answer before the deadline"
        case .connect: return "could not connect to AICC"
        case .connectionLost: return "connection lost after the request was sent"
        case .cancelled: return "cancelled"
        case .presendFailed: return "the step before sending failed; nothing was sent"
        case .authCredentials: return "tokenByAkSk refused the app key or secret"
        case .authResponseInvalid: return "tokenByAkSk answered without a usable token"
        case .authUnavailable: return "tokenByAkSk could not be reached"
        case .responseInvalid: return "AICC answer could not be read"
        case .voiceContentInvalid: return "voice content breaks AICC rules"
        case .requestInvalid: return "request field breaks AICC rules"
        case .configurationInvalid: return "invalid AICC client configuration"
        default:
            if let status = self.answer?.httpStatus, self.code.rawValue.hasPrefix("aicc.auth.http.") {
                return "tokenByAkSk answered HTTP \(status)"
            }
            if let status = self.answer?.httpStatus {
                return "AICC answered HTTP \(status)"
            }
            return "AICC error"
        }
    }

    public var description: String {
        var text = "AICCError(code: \(self.code), class: \(self.outcomeClass), delivery: \(self.delivery)"
        if let answer = self.answer {
            text += ", httpStatus: \(answer.httpStatus)"
            if let retCode = answer.retCode { text += ", retCode: \(retCode)" }
            if let retMsg = answer.retMsg { text += ", retMsg: \(retMsg)" }
        }
        if let underlying = self.underlying { text += ", underlying: \(underlying)" }
        return text + ")"
    }
}

/// AICC's answer to a call, kept for the result event.
public struct AICCAnswer: Sendable, Hashable {
    /// The HTTP status.
    public var httpStatus: Int
    /// `retCode` when the body had one.
    public var retCode: String?
    /// `retMsg` when the body had one (vendor text: not label-safe).
    public var retMsg: String?

    public init(httpStatus: Int, retCode: String? = nil, retMsg: String? = nil) {
        self.httpStatus = httpStatus
        self.retCode = retCode
        self.retMsg = retMsg
    }
}
