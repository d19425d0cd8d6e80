/// The answer of ``IdempotencyStore/claim(_:)``: what the worker does next.
public enum ClaimResult: Sendable, Hashable {
    /// The key is now claimed by the caller (it was free, past retention,
    /// released after a `failed` outcome not in doubt, or an abandoned claim
    /// that never began a call). Call AICC.
    case claimed(StoredRecord)
    /// This very request (same `requestId`) is already done: republish
    /// `record.result` unchanged; no call.
    case completed(StoredRecord)
    /// Another request with the same key and fingerprint is done: publish
    /// `duplicate` with the record's `requestId`, `outcome`, `callSerialNo`; no call.
    case duplicate(StoredRecord)
    /// The key is remembered with a different fingerprint: publish `rejected`
    /// with `idempotency.conflict`; no call. Nothing changed.
    case conflict(StoredRecord)
    /// A live claim (another worker's, or this process's own) is calling now:
    /// wait and claim again later (after `record.leaseExpiresAt` at the
    /// latest); never call, never report.
    case inFlight(StoredRecord)
    /// An abandoned claim may have placed a call, and the policy is `report`.
    /// The caller now owns the claim (`current`) and must record an
    /// `indeterminate` outcome without calling.
    case inDoubt(previous: StoredRecord, current: StoredRecord)
    /// An abandoned claim may have placed a call, and the policy is `retry`.
    /// The caller now owns the claim (`current`, marked in doubt) and calls again.
    case claimedInDoubt(previous: StoredRecord, current: StoredRecord)
    /// The key was free, but its number's storm budget is spent (product §10):
    /// the caller now owns the claim (`record`, which took no slot) and must
    /// record a `suppressed` outcome without calling.
    case suppressed(StoredRecord)
}
