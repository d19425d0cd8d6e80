import Foundation
import NIOCore
import NotifyCore
import NotifyStore
import PostgresNIO

/// Maps ``StoredRecord`` to and from PostgreSQL values, and PostgreSQL errors
/// to ``StoreError``.
enum PostgresRecordCodec {
    /// `INSERT … ON CONFLICT (key) DO NOTHING RETURNING key` for a whole record.
    static func insert(_ r: StoredRecord) -> PostgresQuery {
        let lease: Int? = r.leaseExpiresAt.map(StoreTime.millis)
        let completed: Int? = r.completedAt.map(StoreTime.millis)
        let result: ByteBuffer? = r.result.map { ByteBuffer(bytes: $0) }
        let outcome: String? = r.outcome?.rawValue
        return """
            INSERT INTO aicc_notify_keys (\(unescaped: PostgresSchema.recordColumns))
            VALUES (\(r.key), \(r.requestId), \(r.fingerprint), \(r.state.rawValue), \(r.owner.worker), \
            \(r.owner.incarnation), \(lease), \(StoreTime.millis(r.claimedAt)), \(r.attempts), \(r.callPending), \
            \(r.inDoubt), \(r.inDoubtTakeover), \(outcome), \(r.callSerialNo), \(result), \(completed), \
            \(r.traceParent), \(r.traceState))
            ON CONFLICT (key) DO NOTHING
            RETURNING key
            """
    }

    /// `UPDATE` replacing every column of the key's row with `r`.
    static func replace(_ r: StoredRecord) -> PostgresQuery {
        let lease: Int? = r.leaseExpiresAt.map(StoreTime.millis)
        let completed: Int? = r.completedAt.map(StoreTime.millis)
        let result: ByteBuffer? = r.result.map { ByteBuffer(bytes: $0) }
        let outcome: String? = r.outcome?.rawValue
        return """
            UPDATE aicc_notify_keys SET
                request_id = \(r.requestId), fingerprint = \(r.fingerprint), state = \(r.state.rawValue),
                owner_worker = \(r.owner.worker), owner_incarnation = \(r.owner.incarnation),
                lease_expires_at = \(lease), claimed_at = \(StoreTime.millis(r.claimedAt)), attempts = \(r.attempts),
                call_pending = \(r.callPending), in_doubt = \(r.inDoubt), in_doubt_takeover = \(r.inDoubtTakeover),
                outcome = \(outcome), call_serial_no = \(r.callSerialNo), result = \(result), completed_at = \(completed),
                trace_parent = \(r.traceParent), trace_state = \(r.traceState)
            WHERE key = \(r.key)
            """
    }

    /// Reads a row selected with ``PostgresSchema/recordColumns``.
    static func record(_ row: PostgresRow) throws(StoreError) -> StoredRecord {
        let cells = row.makeRandomAccess()
        func decode<T: PostgresDecodable>(_ type: T.Type, _ name: String) throws(StoreError) -> T {
            do {
                return try cells[name].decode(T.self)
            } catch {
                throw .corrupt("aicc_notify_keys.\(name) cannot be read as \(T.self)")
            }
        }
        let key = try decode(String.self, "key")
        guard let state = StoredRecord.State(rawValue: try decode(String.self, "state")) else {
            throw .corrupt("aicc_notify_keys.state of key \(key) is unknown")
        }
        var outcome: NotificationResult.Outcome?
        if let raw = try decode(String?.self, "outcome") {
            guard let parsed = NotificationResult.Outcome(rawValue: raw) else {
                throw .corrupt("aicc_notify_keys.outcome `\(raw)` of key \(key) is unknown")
            }
            outcome = parsed
        }
        let result: [UInt8]? = try decode(ByteBuffer?.self, "result").map { Array($0.readableBytesView) }
        return StoredRecord(
            key: key,
            requestId: try decode(String.self, "request_id"),
            fingerprint: try decode(String.self, "fingerprint"),
            state: state,
            owner: StoreOwner(worker: try decode(String.self, "owner_worker"), incarnation: try decode(String.self, "owner_incarnation")),
            leaseExpiresAt: try decode(Int?.self, "lease_expires_at").map(StoreTime.date),
            claimedAt: StoreTime.date(try decode(Int.self, "claimed_at")),
            attempts: try decode(Int.self, "attempts"),
            callPending: try decode(Bool.self, "call_pending"),
            inDoubt: try decode(Bool.self, "in_doubt"),
            inDoubtTakeover: try decode(Bool.self, "in_doubt_takeover"),
            outcome: outcome,
            callSerialNo: try decode(String?.self, "call_serial_no"),
            result: result,
            completedAt: try decode(Int?.self, "completed_at").map(StoreTime.date),
            traceParent: try decode(String?.self, "trace_parent"),
            traceState: try decode(String?.self, "trace_state")
        )
    }

    /// A store error for whatever a PostgreSQL call threw.
    ///
    /// Retriable (`store.unavailable`): no connection (refused, lost, closed,
    /// timed out, TLS trouble), and server errors of SQLSTATE classes 08
    /// (connection), 53 (insufficient resources), 57 (operator intervention:
    /// shutdown, admin termination), 58 (system I/O), 40 (serialization
    /// failure, deadlock) and 25006 (read-only transaction, a standby during
    /// fail-over). Other server errors are `store.internal` (a bug here, or a
    /// schema changed by hand); `XX001`/`XX002` are `store.corrupt`.
    static func storeError(_ error: any Error, doing what: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if error is CancellationError { return .unavailable("\(what): cancelled") }
        if let error = error as? PostgresTransactionError {
            let inner = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
            return inner.map { Self.storeError($0, doing: what) } ?? .unavailable("\(what): transaction failed")
        }
        if let error = error as? PostgresDecodingError {
            return .corrupt("\(what): a column could not be decoded (\(error.code))")
        }
        guard let error = error as? PSQLError else {
            return .unavailable("\(what): \(type(of: error))")
        }
        guard error.code == .server, let info = error.serverInfo else {
            return .unavailable("\(what): \(error.code)")
        }
        let state = info[.sqlState] ?? "?????"
        let detail = "\(what): \(info[.message] ?? "server error") (SQLSTATE \(state))"
        let retriableClasses: Set<Substring> = ["08", "53", "57", "58", "40"]
        if retriableClasses.contains(state.prefix(2)) || state == "25006" {
            return .unavailable(detail)
        }
        if state == "XX001" || state == "XX002" {
            return .corrupt(detail)
        }
        return .internal(detail)
    }
}
