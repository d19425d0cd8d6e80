/// One outcome of a ``IdempotencyStore/recordOutcomes(_:)`` batch: what
/// ``IdempotencyStore/recordOutcome(key:requestId:owner:outcome:)`` takes.
public struct OutcomeRecording: Sendable, Hashable {
    /// The idempotency key.
    public var key: String
    /// The request the claim is for.
    public var requestId: String
    /// Who holds the claim.
    public var owner: StoreOwner
    /// What to store.
    public var outcome: StoredOutcome

    /// Creates one outcome to record.
    public init(key: String, requestId: String, owner: StoreOwner, outcome: StoredOutcome) {
        self.key = key
        self.requestId = requestId
        self.owner = owner
        self.outcome = outcome
    }
}
