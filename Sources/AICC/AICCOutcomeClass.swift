/// How the worker treats an AICC answer (product.md §4, aicc-api.md §2).
public enum AICCOutcomeClass: String, Sendable, Hashable, CaseIterable {
    /// AICC created the call and returned a call serial number.
    case accepted
    /// AICC certainly created no call and a later attempt may succeed: back off, retry.
    case transient
    /// AICC refused the request; no retry helps: reject.
    case permanent
    /// The request was sent and no usable answer came back: the call may exist.
    case inDoubt
    /// The credentials were refused: an operator problem; pause, do not reject.
    case outage
}

/// The `retCode` table of `createVoiceNotification` (aicc-api.md §2), in one place.
public enum AICCRetCode {
    /// The class of a `retCode` answered with HTTP 200.
    ///
    /// `0` is accepted; `1` and `3` are transient; every other documented code is
    /// permanent. An undocumented code is treated as permanent: AICC answered,
    /// created no call (no serial number), and did not say that trying again helps.
    public static func outcomeClass(for retCode: String) -> AICCOutcomeClass {
        switch retCode {
        case "0": .accepted
        case "1", "3": .transient
        default: .permanent
        }
    }

    /// The documented meaning of a `retCode`, as a fixed label-safe text.
    public static func summary(for retCode: String) -> String {
        switch retCode {
        case "0": "created"
        case "1": "a task is in progress, try later"
        case "2": "callData longer than 1024"
        case "3": "creation failed, no call serial number"
        case "4": "softphone format wrong"
        case "5": "caller or called missing or malformed"
        case "6": "VDN not enabled"
        case "7": "callerPresent failed verification"
        case "8": "voiceContent empty, too long or unknown id"
        case "9": "callBackUrl not acceptable"
        case "16": "trial tenant, called number not on trustlist"
        case "36": "priority malformed"
        default: "undocumented retCode"
        }
    }

    /// Every `retCode` the vendor documents.
    public static let documented: [String] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "16", "36"]
}

/// The class of a non-2xx HTTP status of `createVoiceNotification`.
public enum AICCHTTPStatus {
    /// 5xx and 429 are transient (AICC created no call); 401 is transient (the
    /// token is no longer good: the client refreshes once and retries once before
    /// reporting it); 400, 403, 404 and every other status are permanent.
    public static func outcomeClass(for status: Int) -> AICCOutcomeClass {
        switch status {
        case 200..<300: .accepted
        case 401, 408, 429, 500..<600: .transient
        default: .permanent
        }
    }
}
