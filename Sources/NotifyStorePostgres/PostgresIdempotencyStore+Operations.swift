public import Foundation
import Logging
import NotifyCore
public import NotifyStore
import PostgresNIO

extension PostgresIdempotencyStore {
    private static let columns = PostgresSchema.recordColumns

    static func selectForUpdate(_ key: String) -> PostgresQuery {
        "SELECT \(unescaped: columns) FROM aicc_notify_keys WHERE key = \(key) FOR UPDATE"
    }

    static func records(_ rows: PostgresRowSequence) async throws -> [StoredRecord] {
        var records: [StoredRecord] = []
        for try await row in rows {
            records.append(try PostgresRecordCodec.record(row))
        }
        return records
    }

    static func count(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    public func claim(_ request: ClaimRequest) async throws(StoreError) -> ClaimResult {
        let retention = self.retention
        return try await self.transaction("claiming \(request.key)") { connection, logger in
            let result = try await Self.decideAndWrite(request, retention: retention, connection, logger)
            return try await self.judgeStorm(result, request, connection, logger).roundedToStoredPrecision
        }
    }

    /// The claim rule applied to the key's row, locked, inside the caller's
    /// transaction, and its write; the storm budget not yet judged.
    static func decideAndWrite(
        _ request: ClaimRequest, retention: Duration, _ connection: TransactionConnection, _ logger: Logger
    ) async throws -> ClaimResult {
        // At most a few rounds: a round repeats only when another process
        // inserted the key between our read and our insert.
        for _ in 0..<5 {
            let existing = try await Self.records(connection.query(Self.selectForUpdate(request.key), logger: logger)).first
            let decision = ClaimDecision.decide(existing: existing, request: request, retention: retention)
            guard case .write(let record, _) = decision else {
                return decision.result
            }
            if existing == nil {
                let inserted = try await Self.count(connection.query(PostgresRecordCodec.insert(record), logger: logger))
                if inserted == 0 { continue }
            } else {
                try await connection.query(PostgresRecordCodec.replace(record), logger: logger)
            }
            return decision.result
        }
        throw StoreError.unavailable("claiming \(request.key): the row kept changing under contention")
    }

    /// The storm budget's verdict on a fresh claim, in the claim's own
    /// transaction. Claims for one number, from any replica, queue on a
    /// transaction-level advisory lock keyed by the number's hash (taken after
    /// the key's row lock, always in that order), so two workers never both
    /// take the last slot; the count and the slot commit with the claim.
    func judgeStorm(
        _ result: ClaimResult, _ request: ClaimRequest, _ connection: TransactionConnection, _ logger: Logger
    ) async throws -> ClaimResult {
        guard let storm = StormSlots.needsBudget(result, request) else { return result }
        let hash = StormSlots.numberHash(storm.called, salt: self.stormSalt)
        let lockKey = Int64(bitPattern: UInt64(hash.prefix(16), radix: 16) ?? 0)
        try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
        let now = StoreTime.millis(request.now)
        var placed: [Date] = []
        for try await millis in try await connection.query(
            "SELECT placed_at FROM aicc_notify_storm_slots WHERE number_hash = \(hash) AND key <> \(request.key)", logger: logger
        ).decode(Int.self) {
            placed.append(StoreTime.date(millis))
        }
        let admitted = storm.budget.admits(placedAt: placed, now: StoreTime.date(now))
        if admitted {
            try await connection.query(
                """
                INSERT INTO aicc_notify_storm_slots (number_hash, key, placed_at) VALUES (\(hash), \(request.key), \(now))
                ON CONFLICT (number_hash, key) DO NOTHING
                """, logger: logger)
        }
        let verdict = StormSlots.apply(admitted: admitted, to: result)
        if case .suppressed(let record) = verdict {
            try await connection.query(PostgresRecordCodec.replace(record), logger: logger)
        }
        return verdict
    }

    public func renewLease(key: String, owner: StoreOwner, until: Date) async throws(StoreError) -> Bool {
        let untilMillis = StoreTime.millis(until)
        return try await self.operation("renewing the lease on \(key)") { client in
            let rows = try await client.query(
                """
                UPDATE aicc_notify_keys SET lease_expires_at = \(untilMillis)
                WHERE key = \(key) AND state = 'claimed' AND owner_worker = \(owner.worker) AND owner_incarnation = \(owner.incarnation)
                RETURNING key
                """, logger: self.logger)
            return try await Self.count(rows) > 0
        }
    }

    public func recordAttemptStarted(key: String, owner: StoreOwner) async throws(StoreError) -> Int {
        let attempts: Int? = try await self.operation("recording an attempt on \(key)") { client in
            var attempts: Int?
            for try await value in try await client.query(
                """
                UPDATE aicc_notify_keys
                SET attempts = attempts + 1, in_doubt = (in_doubt OR call_pending), call_pending = true
                WHERE key = \(key) AND state = 'claimed' AND owner_worker = \(owner.worker) AND owner_incarnation = \(owner.incarnation)
                RETURNING attempts
                """, logger: self.logger
            ).decode(Int.self) {
                attempts = value
            }
            return attempts
        }
        guard let attempts else { throw .claimLost("\(key) is no longer claimed by \(owner)") }
        return attempts
    }

    public func recordAttemptEnded(key: String, owner: StoreOwner, inDoubt: Bool) async throws(StoreError) {
        let updated = try await self.operation("ending an attempt on \(key)") { client in
            try await Self.count(client.query(
                """
                UPDATE aicc_notify_keys SET call_pending = false, in_doubt = (in_doubt OR \(inDoubt))
                WHERE key = \(key) AND state = 'claimed' AND owner_worker = \(owner.worker) AND owner_incarnation = \(owner.incarnation)
                RETURNING key
                """, logger: self.logger))
        }
        guard updated > 0 else { throw .claimLost("\(key) is no longer claimed by \(owner)") }
    }

    public func recordOutcome(
        key: String, requestId: String, owner: StoreOwner, outcome: StoredOutcome
    ) async throws(StoreError) -> StoredRecord {
        try await self.transaction("recording the outcome of \(key)") { connection, logger in
            try await Self.recordOutcome(key: key, requestId: requestId, owner: owner, outcome: outcome, connection, logger)
        }
    }

    /// One outcome inside the caller's transaction.
    static func recordOutcome(
        key: String, requestId: String, owner: StoreOwner, outcome: StoredOutcome,
        _ connection: TransactionConnection, _ logger: Logger
    ) async throws -> StoredRecord {
        let completedAt = StoreTime.millis(outcome.completedAt)
        let result = ByteBuffer(bytes: outcome.result)
        let updated = try await Self.records(connection.query(
            """
            UPDATE aicc_notify_keys
            SET state = 'done', outcome = \(outcome.outcome.rawValue), call_serial_no = \(outcome.callSerialNo),
                in_doubt = (in_doubt OR \(outcome.inDoubt)), call_pending = false, attempts = \(outcome.attempts),
                result = \(result), completed_at = \(completedAt), lease_expires_at = NULL
            WHERE key = \(key) AND state = 'claimed' AND owner_worker = \(owner.worker)
                AND owner_incarnation = \(owner.incarnation) AND request_id = \(requestId)
            RETURNING \(unescaped: Self.columns)
            """, logger: logger))
        if let record = updated.first {
            if StormBudget.freesSlot(outcome: outcome.outcome, inDoubt: outcome.inDoubt) {
                try await connection.query("DELETE FROM aicc_notify_storm_slots WHERE key = \(key)", logger: logger)
            }
            return record
        }
        // Already recorded by this same owner for this request (a repeated call)?
        let existing = try await Self.records(connection.query(
            "SELECT \(unescaped: Self.columns) FROM aicc_notify_keys WHERE key = \(key)", logger: logger)).first
        guard let existing else {
            throw StoreError.claimLost("\(key) is not remembered (swept?); \(owner) no longer holds it")
        }
        if existing.state == .done && existing.requestId == requestId && existing.owner == owner {
            return existing
        }
        throw StoreError.claimLost(
            "\(key) is \(existing.state.rawValue) for request \(existing.requestId) by \(existing.owner), not claimed by \(owner) for \(requestId)")
    }

    public func releaseClaim(key: String, requestId: String, owner: StoreOwner) async throws(StoreError) -> Bool {
        try await self.operation("releasing \(key)") { client in
            // One statement: the claim goes, and with it its storm slot (no call was placed).
            try await Self.count(client.query(
                """
                WITH released AS (
                    DELETE FROM aicc_notify_keys
                    WHERE key = \(key) AND state = 'claimed' AND owner_worker = \(owner.worker)
                        AND owner_incarnation = \(owner.incarnation) AND request_id = \(requestId)
                        AND NOT in_doubt AND NOT call_pending
                    RETURNING key
                ), slot AS (
                    DELETE FROM aicc_notify_storm_slots WHERE key IN (SELECT key FROM released) RETURNING 1
                )
                SELECT key FROM released
                """, logger: self.logger)) > 0
        }
    }

    public func lookup(key: String) async throws(StoreError) -> StoredRecord? {
        try await self.operation("looking up \(key)") { client in
            try await Self.records(client.query(
                "SELECT \(unescaped: Self.columns) FROM aicc_notify_keys WHERE key = \(key)", logger: self.logger)).first
        }
    }

    public func record(forCallSerialNo callSerialNo: String) async throws(StoreError) -> StoredRecord? {
        try await self.operation("looking up call serial \(callSerialNo)") { client in
            try await Self.records(client.query(
                """
                SELECT \(unescaped: Self.columns) FROM aicc_notify_keys
                WHERE call_serial_no = \(callSerialNo) ORDER BY completed_at DESC NULLS LAST LIMIT 1
                """, logger: self.logger)).first
        }
    }

    public func resolveInDoubt(key: String, callSerialNo: String) async throws(StoreError) -> StoredRecord? {
        try await self.transaction("resolving \(key)") { connection, logger in
            let updated = try await Self.records(connection.query(
                """
                UPDATE aicc_notify_keys SET call_serial_no = \(callSerialNo)
                WHERE key = \(key) AND state = 'done' AND outcome = 'indeterminate' AND call_serial_no IS NULL
                RETURNING \(unescaped: Self.columns)
                """, logger: logger))
            if let record = updated.first { return record }
            let existing = try await Self.records(connection.query(
                "SELECT \(unescaped: Self.columns) FROM aicc_notify_keys WHERE key = \(key)", logger: logger)).first
            guard let existing else { return nil }
            return existing.outcome == .indeterminate && existing.callSerialNo == callSerialNo ? existing : nil
        }
    }

    public func sweep(now: Date) async throws(StoreError) -> Int {
        let nowMillis = StoreTime.millis(now)
        let cutoff = StoreTime.millis(now.addingTimeInterval(-self.retention.timeInterval))
        return try await self.operation("sweeping") { client in
            var swept = 0
            for try await count in try await client.query(
                """
                WITH gone AS (
                    DELETE FROM aicc_notify_keys
                    WHERE (state = 'done' AND completed_at <= \(cutoff))
                       OR (state = 'claimed' AND claimed_at <= \(cutoff)
                           AND (lease_expires_at IS NULL OR lease_expires_at <= \(nowMillis)))
                    RETURNING 1
                ), slots AS (
                    DELETE FROM aicc_notify_storm_slots WHERE placed_at <= \(cutoff) RETURNING 1
                ), escalations AS (
                    DELETE FROM aicc_notify_escalations WHERE ended AND updated_at <= \(cutoff) RETURNING 1
                )
                SELECT ((SELECT count(*) FROM gone) + (SELECT count(*) FROM slots) + (SELECT count(*) FROM escalations))::bigint
                """, logger: self.logger
            ).decode(Int.self) {
                swept = count
            }
            return swept
        }
    }
}
