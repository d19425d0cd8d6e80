import NotifyCore

/// The decision rule of ``IdempotencyStore/claim(_:)``, free of I/O so that
/// every store implementation applies the same rule inside its own
/// transaction: read the key's row (locked), ``decide(existing:request:retention:)``,
/// write what it says, commit.
public enum ClaimDecision: Sendable, Hashable {
    /// Write `record` (insert, or replace the row entirely), then answer `result`.
    case write(StoredRecord, ClaimResult)
    /// Change nothing; answer `result`.
    case answer(ClaimResult)

    /// The answer to give.
    public var result: ClaimResult {
        switch self {
        case .write(_, let result), .answer(let result): result
        }
    }

    /// Decides a claim against the key's current row (`nil`: none).
    ///
    /// In order:
    /// 1. no row, or a row past retention → a fresh claim → `claimed`;
    /// 2. done, same request → `completed` (also when its content changed:
    ///    a request has one result, and a redelivery republishes it — an
    ///    Alertmanager repeat whose annotation now reads 96 % instead of 95 %
    ///    is the same request);
    /// 3. a different fingerprint → `conflict`;
    /// 4. done, other request, `failed` and not in doubt → released and
    ///    claimed afresh → `claimed`;
    /// 5. done, other request, otherwise → `duplicate`;
    /// 6. claimed by this very process (same owner and incarnation) with a
    ///    live lease → `inFlight` (once that lease has lapsed the process has
    ///    stopped renewing it — the call it made was abandoned — and rules 8–9
    ///    apply as to any other owner);
    /// 7. claimed by another worker with a live lease → `inFlight`;
    /// 8. claimed, lease ended or the owning worker restarted (same worker,
    ///    other incarnation), no call begun and nothing in doubt → taken over
    ///    as a plain claim → `claimed`;
    /// 9. otherwise (a call may have been placed) → taken over and marked in
    ///    doubt → `claimedInDoubt` if `takeOverInDoubt`, else `inDoubt`.
    ///
    /// A claim that gives the caller a call to make (`claimed`,
    /// `claimedInDoubt`) is also that call's first attempt started: the
    /// record it writes has one attempt more and the call pending, as
    /// ``IdempotencyStore/recordAttemptStarted(key:owner:)`` would leave it.
    /// So a request takes two durable writes (claim, outcome), not three, and
    /// a crash after the claim leaves the key in doubt, as a crash after an
    /// attempt started always did. (`inDoubt` under policy `report` makes no
    /// call and notes no attempt; a claim the storm budget then suppresses
    /// is written back without it by the store.)
    public static func decide(existing: StoredRecord?, request: ClaimRequest, retention: Duration) -> ClaimDecision {
        var fresh = StoredRecord(
            key: request.key, requestId: request.requestId, fingerprint: request.fingerprint, state: .claimed,
            owner: request.owner, leaseExpiresAt: request.leaseExpiresAt, claimedAt: request.now,
            traceParent: request.traceParent, traceState: request.traceState
        )
        var firstAttempt = fresh
        firstAttempt.attempts = 1
        firstAttempt.callPending = true
        guard let existing, !existing.isExpired(at: request.now, retention: retention) else {
            return .write(firstAttempt, .claimed(firstAttempt))
        }
        if existing.state == .done && existing.requestId == request.requestId {
            return .answer(.completed(existing))
        }
        if existing.fingerprint != request.fingerprint {
            return .answer(.conflict(existing))
        }
        switch existing.state {
        case .done:
            if existing.outcome == .failed && !existing.inDoubt {
                return .write(firstAttempt, .claimed(firstAttempt))
            }
            return .answer(.duplicate(existing))
        case .claimed:
            let ownerRestarted = existing.owner != request.owner && existing.owner.worker == request.owner.worker
            if !ownerRestarted && existing.leaseIsLive(at: request.now) {
                return .answer(.inFlight(existing))
            }
            fresh.attempts = existing.attempts
            var calling = fresh
            calling.attempts += 1
            calling.callPending = true
            if !existing.callPending && !existing.inDoubt {
                return .write(calling, .claimed(calling))
            }
            fresh.inDoubt = true
            fresh.inDoubtTakeover = true
            calling.inDoubt = true
            calling.inDoubtTakeover = true
            if request.takeOverInDoubt {
                return .write(calling, .claimedInDoubt(previous: existing, current: calling))
            }
            return .write(fresh, .inDoubt(previous: existing, current: fresh))
        }
    }
}
