public import Foundation

/// One escalation as a store keeps it (product §12): the columns the store
/// queries by, and the worker's state as opaque bytes.
///
/// The store does not know the escalation rule. It keeps rows, answers which
/// are due, and writes a row only when the caller's `version` is still the
/// stored one — so that of two workers applying an input to one escalation,
/// one decides and the other reads again (a fleet escalates a step once).
public struct StoredEscalation: Sendable, Hashable {
    /// The escalation id (`esc:…`).
    public var id: String
    /// The alert on its route (identity and route name): the escalations a
    /// later `resolved` record or a new firing of the alert ends.
    public var subject: String
    /// Grows by one with every write; the compare-and-set guard.
    public var version: Int64
    /// When the current step is unanswered if nobody answered.
    public var deadline: Date
    /// Whether it has ended (answered, resolved, exhausted).
    public var isEnded: Bool
    /// Whether the last decision's records (the step's requests, the
    /// escalation event) may not all be in Kafka yet: set with the decision,
    /// cleared once they are, so that a decision a crash interrupted is
    /// carried out by the next sweep (records are idempotent).
    public var emissionPending: Bool
    /// The worker's state (JSON).
    public var body: [UInt8]

    public init(
        id: String, subject: String, version: Int64 = 1, deadline: Date, isEnded: Bool, emissionPending: Bool, body: [UInt8]
    ) {
        self.id = id
        self.subject = subject
        self.version = version
        self.deadline = deadline
        self.isEnded = isEnded
        self.emissionPending = emissionPending
        self.body = body
    }
}

/// Where escalations live (product §12): both stores, so that a deadline
/// that passes while every worker is down fires at the next start, and a
/// fleet sharing a store escalates each step once.
///
/// Every operation is one atomic step and durable when it returns. Ended
/// escalations are swept with the store's other rows once `store.retention`
/// has passed since their last write.
public protocol EscalationStore: Sendable {
    /// Inserts `escalation` (at its `version`) unless a row with its id
    /// exists. Returns whether it was inserted.
    func createEscalation(_ escalation: StoredEscalation, now: Date) async throws(StoreError) -> Bool

    /// The escalation with `id`, if kept.
    func escalation(id: String) async throws(StoreError) -> StoredEscalation?

    /// The escalations of `subject` that have not ended.
    func activeEscalations(subject: String) async throws(StoreError) -> [StoredEscalation]

    /// Writes `escalation` with `version` one more than `expectedVersion`,
    /// only if the stored row is still at `expectedVersion`. Returns whether
    /// it was written (false: another writer was first, or the row is gone).
    func updateEscalation(_ escalation: StoredEscalation, expectedVersion: Int64, now: Date) async throws(StoreError) -> Bool

    /// Escalations a sweep must look at, earliest deadline first, at most
    /// `limit`: those not ended whose deadline is at or before `now`, and
    /// those whose emission is pending.
    func dueEscalations(now: Date, limit: Int) async throws(StoreError) -> [StoredEscalation]

    /// How many escalations have not ended (`aicc_notify_escalations_pending`).
    func activeEscalationCount() async throws(StoreError) -> Int
}
