public import Foundation
import Logging
import NIOCore
import NotifyCore
public import NotifyStore
import PostgresNIO

/// The batch operations: a batch in as few round trips as the rule allows.
///
/// Lock order, so that replicas claiming overlapping batches queue instead of
/// deadlocking: key rows first, in key order (the fresh inserts, then the
/// rows that already existed), then the storm budget's advisory locks in the
/// order of the number hashes — the single claim's order (row, then lock)
/// generalised. A batch with a key twice is claimed one request after another
/// (rows and locks in batch order); should that, or an outcome batch meeting a
/// takeover, ever close a cycle with another replica, PostgreSQL breaks it
/// (SQLSTATE 40P01, `store.unavailable`, the worker retries).
extension PostgresIdempotencyStore {
    public func claim(batch requests: [ClaimRequest]) async throws(StoreError) -> [ClaimResult] {
        guard !requests.isEmpty else { return [] }
        let retention = self.retention
        let salt = self.stormSalt
        return try await self.transaction("claiming \(requests.count) keys") { connection, logger in
            var results = [ClaimResult?](repeating: nil, count: requests.count)
            // A key twice in one batch (a redelivery within one poll): its
            // second answer depends on everything the first one wrote, the
            // storm budget's verdict included, so the batch goes one claim
            // after another, exactly as single claims would.
            guard Set(requests.map(\.key)).count == requests.count else {
                for (index, request) in requests.enumerated() {
                    let result = try await Self.decideAndWrite(request, retention: retention, connection, logger)
                    results[index] = try await self.judgeStorm(result, request, connection, logger)
                }
                return results.map { $0!.roundedToStoredPrecision }
            }
            let byKey = requests.indices.sorted { requests[$0].key < requests[$1].key }

            // 1. Keys never seen: one INSERT over arrays, one round trip.
            let fresh: [(index: Int, record: StoredRecord, result: ClaimResult)] = byKey.compactMap { index in
                guard case .write(let record, let result) = ClaimDecision.decide(existing: nil, request: requests[index], retention: retention)
                else { return nil }
                return (index, record, result)
            }
            let inserted = try await Self.insertFresh(fresh.map(\.record), connection, logger)
            for entry in fresh where inserted.contains(entry.record.key) {
                results[entry.index] = entry.result
            }
            // 2. Keys that exist: each row locked and decided, in key order.
            for index in byKey where results[index] == nil {
                results[index] = try await Self.decideAndWrite(requests[index], retention: retention, connection, logger)
            }
            // 3. The storm budget, in the order of the numbers' locks, and one
            // number's claims in the batch's order (as single claims would be).
            let judged = requests.indices.compactMap { index -> (index: Int, hash: String)? in
                guard let result = results[index], let storm = StormSlots.needsBudget(result, requests[index]) else { return nil }
                return (index, StormSlots.numberHash(storm.called, salt: salt))
            }.sorted { ($0.hash, $0.index) < ($1.hash, $1.index) }.map(\.index)
            for index in judged {
                results[index] = try await self.judgeStorm(results[index]!, requests[index], connection, logger)
            }
            return results.map { $0!.roundedToStoredPrecision }
        }
    }

    /// Inserts fresh claim rows (key order) unless their key exists; returns
    /// the keys inserted.
    private static func insertFresh(
        _ records: [StoredRecord], _ connection: TransactionConnection, _ logger: Logger
    ) async throws -> Set<String> {
        guard !records.isEmpty else { return [] }
        // Arrays cannot carry NULL through postgres-nio: a boolean array says
        // which trace contexts are there.
        let query: PostgresQuery = """
            INSERT INTO aicc_notify_keys (
                key, request_id, fingerprint, state, owner_worker, owner_incarnation, lease_expires_at, claimed_at,
                attempts, call_pending, in_doubt, in_doubt_takeover, trace_parent, trace_state)
            SELECT k, r, f, s, w, i, l, c, a, p, d, t, CASE WHEN htp THEN tp END, CASE WHEN hts THEN ts END
            FROM unnest(
                \(records.map(\.key))::text[], \(records.map(\.requestId))::text[], \(records.map(\.fingerprint))::text[],
                \(records.map(\.state.rawValue))::text[], \(records.map(\.owner.worker))::text[],
                \(records.map(\.owner.incarnation))::text[], \(records.map { StoreTime.millis($0.leaseExpiresAt ?? $0.claimedAt) })::bigint[],
                \(records.map { StoreTime.millis($0.claimedAt) })::bigint[], \(records.map(\.attempts))::bigint[],
                \(records.map(\.callPending))::boolean[], \(records.map(\.inDoubt))::boolean[],
                \(records.map(\.inDoubtTakeover))::boolean[], \(records.map { $0.traceParent ?? "" })::text[],
                \(records.map { $0.traceState ?? "" })::text[], \(records.map { $0.traceParent != nil })::boolean[],
                \(records.map { $0.traceState != nil })::boolean[]
            ) WITH ORDINALITY AS u(k, r, f, s, w, i, l, c, a, p, d, t, tp, ts, htp, hts, n)
            ORDER BY n
            ON CONFLICT (key) DO NOTHING
            RETURNING key
            """
        var keys: Set<String> = []
        for try await key in try await connection.query(query, logger: logger).decode(String.self) {
            keys.insert(key)
        }
        return keys
    }

    public func renewLeases(keys: [String], owner: StoreOwner, until: Date) async throws(StoreError) -> Set<String> {
        guard !keys.isEmpty else { return [] }
        let untilMillis = StoreTime.millis(until)
        return try await self.operation("renewing \(keys.count) leases") { client in
            var renewed: Set<String> = []
            for try await key in try await client.query(
                """
                UPDATE aicc_notify_keys SET lease_expires_at = \(untilMillis)
                WHERE key = ANY(\(keys)::text[]) AND state = 'claimed'
                    AND owner_worker = \(owner.worker) AND owner_incarnation = \(owner.incarnation)
                RETURNING key
                """, logger: self.logger
            ).decode(String.self) {
                renewed.insert(key)
            }
            return renewed
        }
    }

    public func recordOutcomes(_ recordings: [OutcomeRecording]) async throws(StoreError) -> [Result<StoredRecord, StoreError>] {
        guard !recordings.isEmpty else { return [] }
        return try await self.transaction("recording \(recordings.count) outcomes") { connection, logger in
            var answers = [Result<StoredRecord, StoreError>?](repeating: nil, count: recordings.count)
            var seen: Set<String> = []
            var firsts: [Int] = []
            var repeats: [Int] = []
            for (index, recording) in recordings.enumerated() {
                if seen.insert(recording.key).inserted { firsts.append(index) } else { repeats.append(index) }
            }
            firsts.sort { recordings[$0].key < recordings[$1].key }
            // One UPDATE over arrays for every first occurrence, the storm
            // slots their outcomes free deleted by the same statement.
            let batch = firsts.map { recordings[$0] }
            let freeing = batch.filter { StormBudget.freesSlot(outcome: $0.outcome.outcome, inDoubt: $0.outcome.inDoubt) }.map(\.key)
            let query: PostgresQuery = """
                WITH u AS (
                    SELECT * FROM unnest(
                        \(batch.map(\.key))::text[], \(batch.map(\.requestId))::text[], \(batch.map(\.owner.worker))::text[],
                        \(batch.map(\.owner.incarnation))::text[], \(batch.map(\.outcome.outcome.rawValue))::text[],
                        \(batch.map { $0.outcome.callSerialNo ?? "" })::text[], \(batch.map(\.outcome.inDoubt))::boolean[],
                        \(batch.map(\.outcome.attempts))::bigint[], \(batch.map { ByteBuffer(bytes: $0.outcome.result) })::bytea[],
                        \(batch.map { StoreTime.millis($0.outcome.completedAt) })::bigint[],
                        \(batch.map { $0.outcome.callSerialNo != nil })::boolean[]
                    ) AS u(key, request_id, worker, incarnation, outcome, serial, in_doubt, attempts, result, completed_at, has_serial)
                ), done AS (
                    UPDATE aicc_notify_keys k
                    SET state = 'done', outcome = u.outcome, call_serial_no = CASE WHEN u.has_serial THEN u.serial END,
                        in_doubt = (k.in_doubt OR u.in_doubt), call_pending = false, attempts = u.attempts,
                        result = u.result, completed_at = u.completed_at, lease_expires_at = NULL
                    FROM u
                    WHERE k.key = u.key AND k.state = 'claimed' AND k.owner_worker = u.worker
                        AND k.owner_incarnation = u.incarnation AND k.request_id = u.request_id
                    RETURNING \(unescaped: PostgresSchema.qualifiedRecordColumns)
                ), freed AS (
                    DELETE FROM aicc_notify_storm_slots
                    WHERE key = ANY(\(freeing)::text[]) AND key IN (SELECT key FROM done)
                    RETURNING 1
                )
                SELECT * FROM done
                """
            var stored: [String: StoredRecord] = [:]
            for record in try await Self.records(connection.query(query, logger: logger)) {
                stored[record.key] = record
            }
            for index in firsts {
                if let record = stored[recordings[index].key] {
                    answers[index] = .success(record)
                }
            }
            // Not updated (a repeat of a recorded outcome, or a lost claim),
            // and repeated keys: each on its own, in batch order.
            for index in firsts where answers[index] == nil {
                answers[index] = try await Self.recordOutcome(recordings[index], connection, logger)
            }
            for index in repeats {
                answers[index] = try await Self.recordOutcome(recordings[index], connection, logger)
            }
            return answers.map { $0! }
        }
    }

    /// One outcome inside the caller's transaction, as
    /// ``recordOutcome(key:requestId:owner:outcome:)`` records it, a lost
    /// claim answered rather than thrown.
    static func recordOutcome(
        _ recording: OutcomeRecording, _ connection: TransactionConnection, _ logger: Logger
    ) async throws -> Result<StoredRecord, StoreError> {
        do {
            return .success(try await Self.recordOutcome(
                key: recording.key, requestId: recording.requestId, owner: recording.owner, outcome: recording.outcome,
                connection, logger))
        } catch let error as StoreError where error.isClaimLost {
            return .failure(error)
        }
    }
}
