public import Foundation
public import ServiceLifecycle

/// Remembers idempotency keys so that the worker makes each AICC call
/// effectively once (product §4).
///
/// The worker's sequence for one request: ``claim(_:)``; on `claimed` (or
/// `claimedInDoubt`) the claim itself is the first attempt started (attempts
/// one more, the call pending), so the first create call follows it at once.
/// ``recordAttemptEnded(key:owner:inDoubt:)`` when an attempt certainly
/// placed no call (a retriable failure, or the call was never sent) or was
/// left in doubt; ``recordAttemptStarted(key:owner:)`` *before* each further
/// create call (a retry); while calling, ``renewLease(key:owner:until:)``;
/// finally ``recordOutcome(key:requestId:owner:outcome:)``, and only then
/// publish and commit: two durable writes for a request answered at the
/// first attempt. Every write is durable when the call returns.
///
/// In doubt: a claim whose owner is gone with an attempt pending (it may
/// have placed a call). Since the claim is the first attempt's start, a
/// worker that dies between its claim and its first call leaves that key in
/// doubt too; the worker claims a key only when a call slot is free and
/// calls at once, so a crash leaves at most `aicc.maxConcurrency` keys so.
///
/// Every operation is one atomic step (a transaction). Operations are guarded
/// by owner: a worker whose claim was taken over gets `store.claim.lost` and
/// must drop its work without publishing.
///
/// A store keeps escalations too (``EscalationStore``, product §12).
///
/// The store is a `Service`: `run()` sweeps keys past retention periodically
/// until graceful shutdown, then closes the store. Implementations must pass
/// the shared contract suite in `Tests/NotifyStoreTests/StoreContract.swift`.
public protocol IdempotencyStore: EscalationStore, Service, Sendable {
    /// How long keys are remembered after completion (`store.retention`).
    var retention: Duration { get }

    /// Decides, in one transaction, what the worker does with a request: see
    /// ``ClaimDecision/decide(existing:request:retention:)`` for the exact
    /// rule and ``ClaimResult`` for each answer. When the answer gives the
    /// caller the claim, the claim is durable before this returns.
    func claim(_ request: ClaimRequest) async throws(StoreError) -> ClaimResult

    /// Claims a batch of requests in one transaction: the answers are those
    /// ``claim(_:)`` would give for each request in turn, in array order
    /// (a key that appears twice is decided against what its first
    /// occurrence wrote), and every claim is durable before this returns.
    /// One store failure fails the whole batch, and then nothing was written.
    ///
    /// The worker claims what one poll brought, as many as it has free call
    /// slots; a batch comes from one owner.
    func claim(batch requests: [ClaimRequest]) async throws(StoreError) -> [ClaimResult]

    /// Extends the caller's live or lapsed claims on `keys` to `until`, in
    /// one transaction. Returns the keys renewed: a key missing from it is no
    /// longer claimed by `owner` (taken over, completed, released, swept).
    func renewLeases(keys: [String], owner: StoreOwner, until: Date) async throws(StoreError) -> Set<String>

    /// Records a batch of outcomes in one transaction. Each answer is what
    /// ``recordOutcome(key:requestId:owner:outcome:)`` would give, in array
    /// order: the stored record, or `store.claim.lost` for that outcome alone
    /// (which then wrote nothing). Any other store failure fails the whole
    /// batch, and then nothing was written.
    func recordOutcomes(_ recordings: [OutcomeRecording]) async throws(StoreError) -> [Result<StoredRecord, StoreError>]

    /// Extends the caller's live or lapsed claim to `until`. Returns `false`
    /// (and changes nothing) when the key is no longer claimed by `owner`.
    func renewLease(key: String, owner: StoreOwner, until: Date) async throws(StoreError) -> Bool

    /// Durably notes, before a create call is sent, that it is about to be:
    /// `attempts` grows by one and the call is pending. If the previous attempt
    /// was never ended, it is now in doubt. Returns the new attempt count.
    /// Throws `store.claim.lost` when `owner` no longer holds the claim.
    func recordAttemptStarted(key: String, owner: StoreOwner) async throws(StoreError) -> Int

    /// Notes that the pending attempt ended without an answer to record as an
    /// outcome: `inDoubt == false` when AICC certainly placed no call (a
    /// transient failure before or instead of a call), `true` when the request
    /// was sent and no answer came. Throws `store.claim.lost` when `owner`
    /// no longer holds the claim.
    func recordAttemptEnded(key: String, owner: StoreOwner, inDoubt: Bool) async throws(StoreError)

    /// Completes the caller's claim: the row becomes `done` with the outcome,
    /// serial number, attempts, result bytes and `completedAt`; `inDoubt` is
    /// ORed with what the store knew. Returns the stored record.
    ///
    /// Idempotent: repeating it after a success returns the stored record.
    /// Throws `store.claim.lost` when the key is not claimed by `owner` for
    /// `requestId` (taken over, completed by another, swept).
    func recordOutcome(key: String, requestId: String, owner: StoreOwner, outcome: StoredOutcome) async throws(StoreError) -> StoredRecord

    /// Gives up the caller's claim without an outcome, so that the next
    /// request with the key claims it afresh: used when no call was placed
    /// (the partition was revoked before calling, or the request expired
    /// while backing off after failures that certainly created no call).
    /// A claim that is in doubt (``StoredRecord/inDoubt`` or a call pending)
    /// is never released: end the pending attempt first (a claim's own
    /// attempt that was never sent ends with `inDoubt == false`). Returns
    /// `true` when the key was released.
    func releaseClaim(key: String, requestId: String, owner: StoreOwner) async throws(StoreError) -> Bool

    /// The key's record, if remembered (past-retention rows not yet swept are
    /// returned as they are).
    func lookup(key: String) async throws(StoreError) -> StoredRecord?

    /// The record carrying this AICC call serial number, if any.
    func record(forCallSerialNo callSerialNo: String) async throws(StoreError) -> StoredRecord?

    /// Records the serial number that a verified status report proved for a
    /// key whose outcome is `indeterminate` and has none yet; later duplicates
    /// carry it. Returns the updated record (also when it already carried this
    /// same serial), or `nil` when there is nothing to resolve (unknown key,
    /// not done, not indeterminate, or another serial already recorded).
    func resolveInDoubt(key: String, callSerialNo: String) async throws(StoreError) -> StoredRecord?

    /// Deletes rows past retention at `now` (see
    /// ``StoredRecord/isExpired(at:retention:)``; live claims are never
    /// deleted). Returns how many.
    func sweep(now: Date) async throws(StoreError) -> Int

    /// Closes the store; later operations throw `store.closed`. Waits for the
    /// operation in progress. Idempotent. `run()` calls it on shutdown.
    func close() async
}
