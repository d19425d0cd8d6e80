public import Foundation
import GRDB
import NotifyCore
public import NotifyStore

/// Each operation is one job of a group commit (``SQLiteIdempotencyStore/transaction(_:_:)``),
/// its statements taken from GRDB's statement cache.
extension SQLiteIdempotencyStore {
    private static let selectByKey = "SELECT \(SQLiteSchema.recordColumns) FROM idempotency_keys WHERE key = ?"
    private static let upsert = """
        INSERT OR REPLACE INTO idempotency_keys (\(SQLiteSchema.recordColumns))
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    /// The owner guard shared by the claim-holder operations (arguments: key, worker, incarnation).
    private static let ownedClaim = "key = ? AND state = 'claimed' AND owner_worker = ? AND owner_incarnation = ?"

    /// A key's first claim in one statement: the row is inserted unless one exists.
    private static let insertIfAbsent = """
        INSERT INTO idempotency_keys (\(SQLiteSchema.recordColumns))
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (key) DO NOTHING
        """

    public func claim(_ request: ClaimRequest) async throws(StoreError) -> ClaimResult {
        let retention = self.retention
        let salt = self.stormSalt
        return try await self.transaction("claiming \(request.key)") { db in
            try Self.claim(request, retention: retention, salt: salt, db)
        }
    }

    public func claim(batch requests: [ClaimRequest]) async throws(StoreError) -> [ClaimResult] {
        guard !requests.isEmpty else { return [] }
        let retention = self.retention
        let salt = self.stormSalt
        // One job of the group commit: the claims in order, one transaction.
        return try await self.transaction("claiming \(requests.count) keys") { db in
            try requests.map { request in try Self.claim(request, retention: retention, salt: salt, db) }
        }
    }

    /// One claim inside the caller's transaction.
    private static func claim(_ request: ClaimRequest, retention: Duration, salt: String, _ db: Database) throws -> ClaimResult {
        // The common case, a key never seen: what the rule decides for an
        // absent row, written only if the row is indeed absent (one
        // statement instead of a read and a write; inside the
        // transaction, so nobody can slip in between).
        let fresh = ClaimDecision.decide(existing: nil, request: request, retention: retention)
        if case .write(let record, _) = fresh {
            try db.cachedStatement(sql: Self.insertIfAbsent).execute(arguments: SQLiteRecordCodec.arguments(record))
            if db.changesCount > 0 {
                return try Self.judgeStorm(fresh.result, request, salt: salt, db).roundedToStoredPrecision
            }
        }
        var existing: StoredRecord?
        if let row = try Row.fetchOne(db.cachedStatement(sql: Self.selectByKey), arguments: [request.key]) {
            existing = try SQLiteRecordCodec.record(row)
        }
        let decision = ClaimDecision.decide(existing: existing, request: request, retention: retention)
        if case .write(let record, _) = decision {
            try db.cachedStatement(sql: Self.upsert).execute(arguments: SQLiteRecordCodec.arguments(record))
        }
        return try Self.judgeStorm(decision.result, request, salt: salt, db).roundedToStoredPrecision
    }

    /// The storm budget's verdict on a fresh claim, in the claim's own
    /// transaction (the store's one writer: no other claim can count between
    /// the count and the slot): a slot when it fits, `suppressed` when not.
    private static func judgeStorm(_ result: ClaimResult, _ request: ClaimRequest, salt: String, _ db: Database) throws -> ClaimResult {
        guard let storm = StormSlots.needsBudget(result, request) else { return result }
        let hash = StormSlots.numberHash(storm.called, salt: salt)
        let now = StoreTime.millis(request.now)
        // This key's own slot (a takeover of a claim that counted) is not counted twice.
        let placed = try Int.fetchAll(
            db.cachedStatement(sql: "SELECT placed_at FROM storm_slots WHERE number_hash = ? AND key <> ?"),
            arguments: [hash, request.key]
        ).map(StoreTime.date)
        let admitted = storm.budget.admits(placedAt: placed, now: StoreTime.date(now))
        if admitted {
            try db.cachedStatement(
                sql: "INSERT INTO storm_slots (number_hash, key, placed_at) VALUES (?, ?, ?) ON CONFLICT (number_hash, key) DO NOTHING"
            ).execute(arguments: [hash, request.key, now])
        }
        let verdict = StormSlots.apply(admitted: admitted, to: result)
        if case .suppressed(let record) = verdict {
            try db.cachedStatement(sql: Self.upsert).execute(arguments: SQLiteRecordCodec.arguments(record))
        }
        return verdict
    }

    public func renewLease(key: String, owner: StoreOwner, until: Date) async throws(StoreError) -> Bool {
        try await self.transaction("renewing the lease on \(key)") { db in
            try db.cachedStatement(sql: "UPDATE idempotency_keys SET lease_expires_at = ? WHERE \(Self.ownedClaim)")
                .execute(arguments: [StoreTime.millis(until), key, owner.worker, owner.incarnation])
            return db.changesCount > 0
        }
    }

    public func renewLeases(keys: [String], owner: StoreOwner, until: Date) async throws(StoreError) -> Set<String> {
        guard !keys.isEmpty else { return [] }
        return try await self.transaction("renewing \(keys.count) leases") { db in
            let statement = try db.cachedStatement(sql: "UPDATE idempotency_keys SET lease_expires_at = ? WHERE \(Self.ownedClaim)")
            var renewed: Set<String> = []
            for key in keys {
                try statement.execute(arguments: [StoreTime.millis(until), key, owner.worker, owner.incarnation])
                if db.changesCount > 0 { renewed.insert(key) }
            }
            return renewed
        }
    }

    public func recordAttemptStarted(key: String, owner: StoreOwner) async throws(StoreError) -> Int {
        try await self.transaction("recording an attempt on \(key)") { db in
            let attempts = try Int.fetchOne(
                db.cachedStatement(sql: """
                    UPDATE idempotency_keys
                    SET attempts = attempts + 1, in_doubt = (in_doubt OR call_pending), call_pending = 1
                    WHERE \(Self.ownedClaim) RETURNING attempts
                    """),
                arguments: [key, owner.worker, owner.incarnation])
            guard let attempts else {
                throw StoreError.claimLost("\(key) is no longer claimed by \(owner)")
            }
            return attempts
        }
    }

    public func recordAttemptEnded(key: String, owner: StoreOwner, inDoubt: Bool) async throws(StoreError) {
        try await self.transaction("ending an attempt on \(key)") { db in
            try db.cachedStatement(
                sql: "UPDATE idempotency_keys SET call_pending = 0, in_doubt = (in_doubt OR ?) WHERE \(Self.ownedClaim)"
            ).execute(arguments: [inDoubt ? 1 : 0, key, owner.worker, owner.incarnation])
            guard db.changesCount > 0 else {
                throw StoreError.claimLost("\(key) is no longer claimed by \(owner)")
            }
        }
    }

    public func recordOutcome(
        key: String, requestId: String, owner: StoreOwner, outcome: StoredOutcome
    ) async throws(StoreError) -> StoredRecord {
        try await self.transaction("recording the outcome of \(key)") { db in
            try Self.recordOutcome(key: key, requestId: requestId, owner: owner, outcome: outcome, db)
        }
    }

    public func recordOutcomes(_ recordings: [OutcomeRecording]) async throws(StoreError) -> [Result<StoredRecord, StoreError>] {
        guard !recordings.isEmpty else { return [] }
        return try await self.transaction("recording \(recordings.count) outcomes") { db in
            try recordings.map { recording in
                do {
                    return .success(try Self.recordOutcome(
                        key: recording.key, requestId: recording.requestId, owner: recording.owner, outcome: recording.outcome, db))
                } catch let error as StoreError where error.isClaimLost {
                    // A lost claim wrote nothing: it is this outcome's answer
                    // alone, and the transaction goes on for the others.
                    return .failure(error)
                }
            }
        }
    }

    /// One outcome inside the caller's transaction.
    private static func recordOutcome(
        key: String, requestId: String, owner: StoreOwner, outcome: StoredOutcome, _ db: Database
    ) throws -> StoredRecord {
        let updated = try Row.fetchOne(
            db.cachedStatement(sql: """
                UPDATE idempotency_keys
                SET state = 'done', outcome = ?, call_serial_no = ?, in_doubt = (in_doubt OR ?),
                    call_pending = 0, attempts = ?, result = ?, completed_at = ?, lease_expires_at = NULL
                WHERE \(Self.ownedClaim) AND request_id = ?
                RETURNING \(SQLiteSchema.recordColumns)
                """),
            arguments: [
                outcome.outcome.rawValue,
                outcome.callSerialNo,
                outcome.inDoubt ? 1 : 0,
                outcome.attempts,
                Data(outcome.result),
                StoreTime.millis(outcome.completedAt),
                key, owner.worker, owner.incarnation, requestId,
            ])
        if let updated {
            if StormBudget.freesSlot(outcome: outcome.outcome, inDoubt: outcome.inDoubt) {
                try db.cachedStatement(sql: "DELETE FROM storm_slots WHERE key = ?").execute(arguments: [key])
            }
            return try SQLiteRecordCodec.record(updated)
        }
        // Already recorded by this same owner for this request (a repeated call)?
        if let row = try Row.fetchOne(db.cachedStatement(sql: Self.selectByKey), arguments: [key]) {
            let existing = try SQLiteRecordCodec.record(row)
            if existing.state == .done && existing.requestId == requestId && existing.owner == owner {
                return existing
            }
            throw StoreError.claimLost(
                "\(key) is \(existing.state.rawValue) for request \(existing.requestId) by \(existing.owner), not claimed by \(owner) for \(requestId)")
        }
        throw StoreError.claimLost("\(key) is not remembered (swept?); \(owner) no longer holds it")
    }

    public func releaseClaim(key: String, requestId: String, owner: StoreOwner) async throws(StoreError) -> Bool {
        try await self.transaction("releasing \(key)") { db in
            try db.cachedStatement(
                sql: "DELETE FROM idempotency_keys WHERE \(Self.ownedClaim) AND request_id = ? AND in_doubt = 0 AND call_pending = 0"
            ).execute(arguments: [key, owner.worker, owner.incarnation, requestId])
            guard db.changesCount > 0 else { return false }
            // No call was placed: the storm slot, if any, goes back.
            try db.cachedStatement(sql: "DELETE FROM storm_slots WHERE key = ?").execute(arguments: [key])
            return true
        }
    }

    public func lookup(key: String) async throws(StoreError) -> StoredRecord? {
        try await self.transaction("looking up \(key)") { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: Self.selectByKey), arguments: [key]) else { return nil }
            return try SQLiteRecordCodec.record(row)
        }
    }

    public func record(forCallSerialNo callSerialNo: String) async throws(StoreError) -> StoredRecord? {
        try await self.transaction("looking up call serial \(callSerialNo)") { db in
            let statement = try db.cachedStatement(sql: """
                SELECT \(SQLiteSchema.recordColumns) FROM idempotency_keys
                WHERE call_serial_no = ? ORDER BY completed_at DESC LIMIT 1
                """)
            guard let row = try Row.fetchOne(statement, arguments: [callSerialNo]) else { return nil }
            return try SQLiteRecordCodec.record(row)
        }
    }

    public func resolveInDoubt(key: String, callSerialNo: String) async throws(StoreError) -> StoredRecord? {
        try await self.transaction("resolving \(key)") { db in
            let updated = try Row.fetchOne(
                db.cachedStatement(sql: """
                    UPDATE idempotency_keys SET call_serial_no = ?
                    WHERE key = ? AND state = 'done' AND outcome = 'indeterminate' AND call_serial_no IS NULL
                    RETURNING \(SQLiteSchema.recordColumns)
                    """),
                arguments: [callSerialNo, key])
            if let updated {
                return try SQLiteRecordCodec.record(updated)
            }
            guard let row = try Row.fetchOne(db.cachedStatement(sql: Self.selectByKey), arguments: [key]) else { return nil }
            let existing = try SQLiteRecordCodec.record(row)
            return existing.outcome == .indeterminate && existing.callSerialNo == callSerialNo ? existing : nil
        }
    }

    public func sweep(now: Date) async throws(StoreError) -> Int {
        let nowMillis = StoreTime.millis(now)
        let cutoff = StoreTime.millis(now.addingTimeInterval(-self.retention.timeInterval))
        return try await self.transaction("sweeping") { db in
            try db.execute(
                sql: "DELETE FROM idempotency_keys WHERE state = 'done' AND completed_at <= ?", arguments: [cutoff])
            var swept = db.changesCount
            try db.execute(
                sql: """
                    DELETE FROM idempotency_keys
                    WHERE state = 'claimed' AND claimed_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
                    """,
                arguments: [cutoff, nowMillis])
            swept += db.changesCount
            try db.execute(sql: "DELETE FROM storm_slots WHERE placed_at <= ?", arguments: [cutoff])
            swept += db.changesCount
            try db.execute(sql: "DELETE FROM escalations WHERE ended = 1 AND updated_at <= ?", arguments: [cutoff])
            swept += db.changesCount
            return swept
        }
    }
}
