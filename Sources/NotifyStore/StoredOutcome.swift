public import Foundation
public import NotifyCore

/// What ``IdempotencyStore/recordOutcome(key:requestId:owner:outcome:)`` stores.
public struct StoredOutcome: Sendable, Hashable {
    /// The outcome reached after the claim: `accepted`, `rejected` (by AICC),
    /// `failed`, `expired` (deadline passed while retrying) or `indeterminate`.
    public var outcome: NotificationResult.Outcome
    /// AICC's call serial number, when known.
    public var callSerialNo: String?
    /// Some attempt may have placed a call without the worker learning of it
    /// (sent, no answer). The store ORs this with what it already knows (an
    /// attempt ended in doubt, an in-doubt takeover). A `failed` outcome that is in
    /// doubt does not release the key.
    public var inDoubt: Bool
    /// AICC create calls made for the request.
    public var attempts: Int
    /// The serialized notification-result event (JSON bytes), republished
    /// verbatim on redelivery of the same request.
    public var result: [UInt8]
    /// When the outcome was reached; retention counts from here.
    public var completedAt: Date

    /// Creates an outcome.
    public init(
        outcome: NotificationResult.Outcome, callSerialNo: String? = nil, inDoubt: Bool, attempts: Int,
        result: [UInt8], completedAt: Date
    ) {
        self.outcome = outcome
        self.callSerialNo = callSerialNo
        self.inDoubt = inDoubt
        self.attempts = attempts
        self.result = result
        self.completedAt = completedAt
    }
}
