public import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NotifyCore
import SQLiteNIO

extension SQLiteIdempotencyStore {
    private static let selectByKey = "SELECT \(SQLiteSchema.recordColumns) FROM idempotency_keys WHERE key = ?"
    private static let upsert = """
        INSERT OR REPLACE INTO idempotency_keys (\(SQLiteSchema.recordColumns))
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    /// The owner guard shared by the claim-holder operations (binds: key, worker, incarnation).
    private static let ownedClaim = "key = ? AND state = 'claimed' AND owner_worker = ? AND owner_incarnation = ?"

    /// A key's first claim in one statement: the row is inserted unless one exists.
    private static let insertIfAbsent = """
        INSERT INTO idempotency_keys (\(SQLiteSchema.recordColumns))
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (key) DO NOTHING RETURNING key
        """

    public func claim(_ request: ClaimRequest) async throws(StoreError) -> ClaimResult {
        let retention = self.retention
        return try await self.transaction("claiming \(request.key)") { connection in
            // The common case, a key never seen: what the rule decides for an
            // absent row, written only if the row is indeed absent (one
            // statement instead of a read and a write; inside the
            // transaction, so nobody can slip in between).
            let fresh = ClaimDecision.decide(existing: nil, request: request, retention: retention)
            if case .write(let record, _) = fresh,
               !(try await connection.execute(Self.insertIfAbsent, SQLiteRecordCodec.binds(record))).isEmpty {
                return try await self.judgeStorm(fresh.result, request, connection).roundedToStoredPrecision
            }
            var existing: StoredRecord?
            if let row = try await connection.execute(Self.selectByKey, [.text(request.key)]).first {
                existing = try SQLiteRecordCodec.record(row)
            }
            let decision = ClaimDecision.decide(existing: existing, request: request, retention: retention)
            if case .write(let record, _) = decision {
                _ = try await connection.execute(Self.upsert, SQLiteRecordCodec.binds(record))
            }
            return try await self.judgeStorm(decision.result, request, connection).roundedToStoredPrecision
        }
    }

    /// The storm budget's verdict on a fresh claim, in the claim's own
    /// transaction (the store's one writer: no other claim can count between
    /// the count and the slot): a slot when it fits, `suppressed` when not.
    private func judgeStorm(_ result: ClaimResult, _ request: ClaimRequest, _ connection: SQLiteConnection) async throws -> ClaimResult {
        guard let storm = StormSlots.needsBudget(result, request) else { return result }
        let hash = StormSlots.numberHash(storm.called, salt: self.stormSalt.withLockedValue { $0 })
        let now = StoreTime.millis(request.now)
        // This key's own slot (a takeover of a claim that counted) is not counted twice.
        let placed = try await connection.execute(
            "SELECT placed_at FROM storm_slots WHERE number_hash = ? AND key <> ?", [.text(hash), .text(request.key)]
        ).compactMap { $0.column("placed_at")?.integer.map { StoreTime.date(Int($0)) } }
        let admitted = storm.budget.admits(placedAt: placed, now: StoreTime.date(now))
        if admitted {
            _ = try await connection.execute(
                "INSERT INTO storm_slots (number_hash, key, placed_at) VALUES (?, ?, ?) ON CONFLICT (number_hash, key) DO NOTHING",
                [.text(hash), .text(request.key), .integer(now)])
        }
        return StormSlots.apply(admitted: admitted, to: result)
    }

    public func renewLease(key: String, owner: StoreOwner, until: Date) async throws(StoreError) -> Bool {
        try await self.transaction("renewing the lease on \(key)") { connection in
            let rows = try await connection.execute(
                "UPDATE idempotency_keys SET lease_expires_at = ? WHERE \(Self.ownedClaim) RETURNING key",
                [.integer(StoreTime.millis(until)), .text(key), .text(owner.worker), .text(owner.incarnation)]
            )
            return !rows.isEmpty
        }
    }

    public func recordAttemptStarted(key: String, owner: StoreOwner) async throws(StoreError) -> Int {
        try await self.transaction("recording an attempt on \(key)") { connection in
            let rows = try await connection.execute(
                """
                UPDATE idempotency_keys
                SET attempts = attempts + 1, in_doubt = (in_doubt OR call_pending), call_pending = 1
                WHERE \(Self.ownedClaim) RETURNING attempts
                """,
                [.text(key), .text(owner.worker), .text(owner.incarnation)]
            )
            guard let attempts = rows.first?.column("attempts")?.integer else {
                throw StoreError.claimLost("\(key) is no longer claimed by \(owner)")
            }
            return Int(attempts)
        }
    }

    public func recordAttemptEnded(key: String, owner: StoreOwner, inDoubt: Bool) async throws(StoreError) {
        try await self.transaction("ending an attempt on \(key)") { connection in
            let rows = try await connection.execute(
                "UPDATE idempotency_keys SET call_pending = 0, in_doubt = (in_doubt OR ?) WHERE \(Self.ownedClaim) RETURNING key",
                [.integer(inDoubt ? 1 : 0), .text(key), .text(owner.worker), .text(owner.incarnation)]
            )
            guard !rows.isEmpty else {
                throw StoreError.claimLost("\(key) is no longer claimed by \(owner)")
            }
        }
    }

    public func recordOutcome(
        key: String, requestId: String, owner: StoreOwner, outcome: StoredOutcome
    ) async throws(StoreError) -> StoredRecord {
        try await self.transaction("recording the outcome of \(key)") { connection in
            let updated = try await connection.execute(
                """
                UPDATE idempotency_keys
                SET state = 'done', outcome = ?, call_serial_no = ?, in_doubt = (in_doubt OR ?),
                    call_pending = 0, attempts = ?, result = ?, completed_at = ?, lease_expires_at = NULL
                WHERE \(Self.ownedClaim) AND request_id = ?
                RETURNING \(SQLiteSchema.recordColumns)
                """,
                [
                    .text(outcome.outcome.rawValue),
                    outcome.callSerialNo.map { SQLiteData.text($0) } ?? SQLiteData.null,
                    .integer(outcome.inDoubt ? 1 : 0),
                    .integer(outcome.attempts),
                    .blob(.init(bytes: outcome.result)),
                    .integer(StoreTime.millis(outcome.completedAt)),
                    .text(key), .text(owner.worker), .text(owner.incarnation), .text(requestId),
                ]
            )
            if let row = updated.first {
                if StormBudget.freesSlot(outcome: outcome.outcome, inDoubt: outcome.inDoubt) {
                    _ = try await connection.execute("DELETE FROM storm_slots WHERE key = ?", [.text(key)])
                }
                return try SQLiteRecordCodec.record(row)
            }
            // Already recorded by this same owner for this request (a repeated call)?
            if let row = try await connection.execute(Self.selectByKey, [.text(key)]).first {
                let existing = try SQLiteRecordCodec.record(row)
                if existing.state == .done && existing.requestId == requestId && existing.owner == owner {
                    return existing
                }
                throw StoreError.claimLost(
                    "\(key) is \(existing.state.rawValue) for request \(existing.requestId) by \(existing.owner), not claimed by \(owner) for \(requestId)")
            }
            throw StoreError.claimLost("\(key) is not remembered (swept?); \(owner) no longer holds it")
        }
    }

    public func releaseClaim(key: String, requestId: String, owner: StoreOwner) async throws(StoreError) -> Bool {
        try await self.transaction("releasing \(key)") { connection in
            let rows = try await connection.execute(
                "DELETE FROM idempotency_keys WHERE \(Self.ownedClaim) AND request_id = ? AND in_doubt = 0 AND call_pending = 0 RETURNING key",
                [.text(key), .text(owner.worker), .text(owner.incarnation), .text(requestId)]
            )
            if !rows.isEmpty {
                // No call was placed: the storm slot, if any, goes back.
                _ = try await connection.execute("DELETE FROM storm_slots WHERE key = ?", [.text(key)])
            }
            return !rows.isEmpty
        }
    }

    public func lookup(key: String) async throws(StoreError) -> StoredRecord? {
        guard let row = try await self.read("looking up \(key)", Self.selectByKey, [.text(key)]).first else { return nil }
        return try SQLiteRecordCodec.record(row)
    }

    public func record(forCallSerialNo callSerialNo: String) async throws(StoreError) -> StoredRecord? {
        let rows = try await self.read(
            "looking up call serial \(callSerialNo)",
            "SELECT \(SQLiteSchema.recordColumns) FROM idempotency_keys WHERE call_serial_no = ? ORDER BY completed_at DESC LIMIT 1",
            [.text(callSerialNo)]
        )
        guard let row = rows.first else { return nil }
        return try SQLiteRecordCodec.record(row)
    }

    public func resolveInDoubt(key: String, callSerialNo: String) async throws(StoreError) -> StoredRecord? {
        try await self.transaction("resolving \(key)") { connection in
            let updated = try await connection.execute(
                """
                UPDATE idempotency_keys SET call_serial_no = ?
                WHERE key = ? AND state = 'done' AND outcome = 'indeterminate' AND call_serial_no IS NULL
                RETURNING \(SQLiteSchema.recordColumns)
                """,
                [.text(callSerialNo), .text(key)]
            )
            if let row = updated.first {
                return try SQLiteRecordCodec.record(row)
            }
            guard let row = try await connection.execute(Self.selectByKey, [.text(key)]).first else { return nil }
            let existing = try SQLiteRecordCodec.record(row)
            return existing.outcome == .indeterminate && existing.callSerialNo == callSerialNo ? existing : nil
        }
    }

    public func sweep(now: Date) async throws(StoreError) -> Int {
        let nowMillis = StoreTime.millis(now)
        let cutoff = StoreTime.millis(now.addingTimeInterval(-self.retention.timeInterval))
        return try await self.transaction("sweeping") { connection in
            let done = try await connection.execute(
                "DELETE FROM idempotency_keys WHERE state = 'done' AND completed_at <= ? RETURNING key",
                [.integer(cutoff)]
            )
            let abandoned = try await connection.execute(
                """
                DELETE FROM idempotency_keys
                WHERE state = 'claimed' AND claimed_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
                RETURNING key
                """,
                [.integer(cutoff), .integer(nowMillis)]
            )
            let slots = try await connection.execute(
                "DELETE FROM storm_slots WHERE placed_at <= ? RETURNING key", [.integer(cutoff)])
            return done.count + abandoned.count + slots.count
        }
    }
}
