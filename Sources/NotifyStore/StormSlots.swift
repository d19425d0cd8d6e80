import Crypto
import Foundation
import NotifyCore

/// What both stores share of the storm budget's bookkeeping (product §10).
///
/// A *slot* is one call counted against a number: a row of (number hash,
/// idempotency key, placed at), written in the claim's transaction when the
/// budget admits the call. A `failed`, `rejected` or `expired` outcome not in
/// doubt, and a released claim, give the slot back (no call was placed); a
/// call in doubt keeps it. Retention sweeps slots like keys.
public enum StormSlots {
    /// The number as the store keeps it: HMAC-SHA256 under the store's own
    /// salt (made at migration), lower-case hex. Never the number.
    public static func numberHash(_ called: String, salt: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(called.utf8), using: SymmetricKey(data: Data(salt.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// The claim's answer once the budget has decided: `decision` unchanged
    /// when it is not a fresh claim held to a budget, or the budget admits
    /// it; `suppressed` when the budget is spent, with the claim row minus
    /// the attempt the claim noted (no call follows), which takes no slot.
    /// The store writes that row back in the claim's transaction.
    public static func apply(admitted: Bool, to result: ClaimResult) -> ClaimResult {
        guard !admitted, case .claimed(var record) = result else { return result }
        if record.callPending {
            record.callPending = false
            record.attempts -= 1
        }
        return .suppressed(record)
    }

    /// Whether the decision is a fresh claim that the budget must judge.
    public static func needsBudget(_ result: ClaimResult, _ request: ClaimRequest) -> StormClaim? {
        guard let storm = request.storm, storm.budget.isOn, case .claimed = result else { return nil }
        return storm
    }
}
