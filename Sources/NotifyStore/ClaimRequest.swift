public import Foundation
public import NotifyCore

/// The input of ``IdempotencyStore/claim(_:)``.
public struct ClaimRequest: Sendable, Hashable {
    /// The idempotency key.
    public var key: String
    /// The request's id.
    public var requestId: String
    /// The request's fingerprint (`NotificationRequest.fingerprint`).
    public var fingerprint: String
    /// Who claims.
    public var owner: StoreOwner
    /// How long the claim stays live without ``IdempotencyStore/renewLease(key:owner:until:)``.
    public var leaseDuration: Duration
    /// The time of the decision (the store compares leases and retention to it).
    public var now: Date
    /// `true` when the in-doubt policy is `retry`: an in-doubt claim is taken
    /// over to call again (``ClaimResult/claimedInDoubt(previous:current:)``)
    /// instead of being reported (``ClaimResult/inDoubt(previous:current:)``).
    public var takeOverInDoubt: Bool
    /// The called number's storm budget, when it applies to this request
    /// (product §10); `nil`: not held to one (off, or a bypass priority).
    public var storm: StormClaim?
    /// The W3C `traceparent` of the dispatch that claims (product §11),
    /// kept with the claim so that a status report arriving later, on any
    /// replica, continues its trace.
    public var traceParent: String?
    /// The W3C `tracestate` that goes with ``traceParent``.
    public var traceState: String?

    /// Creates a claim request.
    public init(
        key: String, requestId: String, fingerprint: String, owner: StoreOwner,
        leaseDuration: Duration, now: Date, takeOverInDoubt: Bool, storm: StormClaim? = nil,
        traceParent: String? = nil, traceState: String? = nil
    ) {
        self.traceParent = traceParent
        self.traceState = traceState
        self.key = key
        self.requestId = requestId
        self.fingerprint = fingerprint
        self.owner = owner
        self.leaseDuration = leaseDuration
        self.now = now
        self.takeOverInDoubt = takeOverInDoubt
        self.storm = storm
    }

    /// When a lease taken now ends.
    public var leaseExpiresAt: Date {
        self.now.addingTimeInterval(self.leaseDuration.timeInterval)
    }
}

/// A claim held to a storm budget: the number it would call (in memory only:
/// the store keeps an HMAC of it under a per-store salt, never the number) and
/// the budget.
public struct StormClaim: Sendable, Hashable {
    /// The called number.
    public var called: String
    /// The budget.
    public var budget: StormBudget

    public init(called: String, budget: StormBudget) {
        self.called = called
        self.budget = budget
    }
}

extension Duration {
    /// The duration in seconds (the stores compare it with `Date`s).
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = self.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
