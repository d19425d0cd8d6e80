public import Foundation
public import NotifyCore

/// One idempotency key as the store remembers it.
///
/// Times are kept to the millisecond.
public struct StoredRecord: Sendable, Hashable {
    /// Where the key is in its life.
    public enum State: String, Sendable, Hashable {
        /// Claimed; the owner is (or was) calling AICC.
        case claimed
        /// An outcome was recorded.
        case done
    }

    /// The idempotency key.
    public var key: String
    /// The request that holds (or completed) the key.
    public var requestId: String
    /// The fingerprint of that request.
    public var fingerprint: String
    /// Claimed or done.
    public var state: State
    /// Who claimed it last (kept after completion, for diagnosis).
    public var owner: StoreOwner
    /// When the claim's lease ends; `nil` once done.
    public var leaseExpiresAt: Date?
    /// When the key was (last) claimed.
    public var claimedAt: Date
    /// AICC create calls begun on this key since it was claimed (takeovers
    /// keep counting; a released key starts again at 0).
    public var attempts: Int
    /// A create call was begun and its end not recorded: if the owner is gone,
    /// that call may have been placed.
    public var callPending: Bool
    /// Some attempt is in doubt (see ``StoredOutcome/inDoubt``).
    public var inDoubt: Bool
    /// The current claim took over an in-doubt claim.
    public var inDoubtTakeover: Bool
    /// The outcome, once done.
    public var outcome: NotificationResult.Outcome?
    /// AICC's call serial number, when known (recorded with the outcome, or
    /// later by ``IdempotencyStore/resolveInDoubt(key:callSerialNo:)``).
    public var callSerialNo: String?
    /// The serialized result event, once done.
    public var result: [UInt8]?
    /// When the outcome was reached, once done.
    public var completedAt: Date?
    /// The W3C `traceparent` of the dispatch that holds (or held) the claim:
    /// the parent of its call-status events (product §11).
    public var traceParent: String?
    /// The W3C `tracestate` that goes with ``traceParent``.
    public var traceState: String?

    /// Creates a record.
    public init(
        key: String, requestId: String, fingerprint: String, state: State, owner: StoreOwner,
        leaseExpiresAt: Date?, claimedAt: Date, attempts: Int = 0, callPending: Bool = false, inDoubt: Bool = false,
        inDoubtTakeover: Bool = false, outcome: NotificationResult.Outcome? = nil, callSerialNo: String? = nil,
        result: [UInt8]? = nil, completedAt: Date? = nil, traceParent: String? = nil, traceState: String? = nil
    ) {
        self.traceParent = traceParent
        self.traceState = traceState
        self.key = key
        self.requestId = requestId
        self.fingerprint = fingerprint
        self.state = state
        self.owner = owner
        self.leaseExpiresAt = leaseExpiresAt
        self.claimedAt = claimedAt
        self.attempts = attempts
        self.callPending = callPending
        self.inDoubt = inDoubt
        self.inDoubtTakeover = inDoubtTakeover
        self.outcome = outcome
        self.callSerialNo = callSerialNo
        self.result = result
        self.completedAt = completedAt
    }

    /// The lease is live at `now`.
    public func leaseIsLive(at now: Date) -> Bool {
        guard self.state == .claimed, let leaseExpiresAt else { return false }
        return leaseExpiresAt > now
    }

    /// The record is past retention at `now` and counts as absent: a done
    /// record completed `retention` or longer ago, or a claim whose lease has
    /// ended and that was claimed `retention` or longer ago. A live claim never is.
    public func isExpired(at now: Date, retention: Duration) -> Bool {
        let cutoff = now.addingTimeInterval(-retention.timeInterval)
        switch self.state {
        case .done:
            return (self.completedAt ?? self.claimedAt) <= cutoff
        case .claimed:
            return !self.leaseIsLive(at: now) && self.claimedAt <= cutoff
        }
    }
}
