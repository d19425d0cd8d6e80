import Foundation
import GRDB
import NotifyCore
import NotifyStore

/// Maps ``StoredRecord`` to and from SQLite values, and SQLite errors to ``StoreError``.
enum SQLiteRecordCodec {
    /// The arguments of `INSERT … INTO idempotency_keys (recordColumns) VALUES (?, …)`.
    static func arguments(_ record: StoredRecord) -> StatementArguments {
        let values: [(any DatabaseValueConvertible)?] = [
            record.key,
            record.requestId,
            record.fingerprint,
            record.state.rawValue,
            record.owner.worker,
            record.owner.incarnation,
            record.leaseExpiresAt.map { StoreTime.millis($0) },
            StoreTime.millis(record.claimedAt),
            record.attempts,
            record.callPending ? 1 : 0,
            record.inDoubt ? 1 : 0,
            record.inDoubtTakeover ? 1 : 0,
            record.outcome?.rawValue,
            record.callSerialNo,
            record.result.map { Data($0) },
            record.completedAt.map { StoreTime.millis($0) },
            record.traceParent,
            record.traceState,
        ]
        return StatementArguments(values)
    }

    /// Reads a row selected with ``SQLiteSchema/recordColumns`` (by position,
    /// in that order). A value of the wrong type is `store.corrupt`, never a trap.
    static func record(_ row: Row) throws(StoreError) -> StoredRecord {
        func value(_ index: Int) -> DatabaseValue.Storage {
            (row[index] as DatabaseValue).storage
        }
        func text(_ index: Int, _ name: String) throws(StoreError) -> String {
            guard case .string(let value) = value(index) else { throw .corrupt("idempotency_keys.\(name) is not text") }
            return value
        }
        func optionalText(_ index: Int, _ name: String) throws(StoreError) -> String? {
            switch value(index) {
            case .null: return nil
            case .string(let value): return value
            default: throw .corrupt("idempotency_keys.\(name) is not text")
            }
        }
        func integer(_ index: Int, _ name: String) throws(StoreError) -> Int {
            guard case .int64(let value) = value(index) else { throw .corrupt("idempotency_keys.\(name) is not an integer") }
            return Int(value)
        }
        func optionalInteger(_ index: Int, _ name: String) throws(StoreError) -> Int? {
            switch value(index) {
            case .null: return nil
            case .int64(let value): return Int(value)
            default: throw .corrupt("idempotency_keys.\(name) is not an integer")
            }
        }
        guard row.count == SQLiteSchema.recordColumnCount else {
            throw .internal("idempotency_keys: \(row.count) columns read, \(SQLiteSchema.recordColumnCount) expected")
        }
        let key = try text(0, "key")
        guard let state = StoredRecord.State(rawValue: try text(3, "state")) else {
            throw .corrupt("idempotency_keys.state of key \(key) is unknown")
        }
        var outcome: NotificationResult.Outcome?
        if let raw = try optionalText(12, "outcome") {
            guard let parsed = NotificationResult.Outcome(rawValue: raw) else {
                throw .corrupt("idempotency_keys.outcome `\(raw)` of key \(key) is unknown")
            }
            outcome = parsed
        }
        var result: [UInt8]?
        switch value(14) {
        case .null: break
        case .blob(let data): result = Array(data)
        default: throw .corrupt("idempotency_keys.result of key \(key) is not a blob")
        }
        return StoredRecord(
            key: key,
            requestId: try text(1, "request_id"),
            fingerprint: try text(2, "fingerprint"),
            state: state,
            owner: StoreOwner(worker: try text(4, "owner_worker"), incarnation: try text(5, "owner_incarnation")),
            leaseExpiresAt: try optionalInteger(6, "lease_expires_at").map(StoreTime.date),
            claimedAt: StoreTime.date(try integer(7, "claimed_at")),
            attempts: try integer(8, "attempts"),
            callPending: try integer(9, "call_pending") != 0,
            inDoubt: try integer(10, "in_doubt") != 0,
            inDoubtTakeover: try integer(11, "in_doubt_takeover") != 0,
            outcome: outcome,
            callSerialNo: try optionalText(13, "call_serial_no"),
            result: result,
            completedAt: try optionalInteger(15, "completed_at").map(StoreTime.date),
            traceParent: try optionalText(16, "trace_parent"),
            traceState: try optionalText(17, "trace_state")
        )
    }

    /// A store error for whatever a SQLite call threw.
    static func storeError(_ error: any Error, doing what: String) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? DatabaseError else {
            return .unavailable("\(what): \(error)")
        }
        let detail = "\(what): \(error.message ?? "SQLite error") (\(error.extendedResultCode))"
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_FORMAT:
            return .corrupt(detail)
        case .SQLITE_CONSTRAINT, .SQLITE_MISUSE, .SQLITE_MISMATCH, .SQLITE_RANGE, .SQLITE_TOOBIG, .SQLITE_SCHEMA, .SQLITE_ERROR:
            return .internal(detail)
        default:
            // busy, locked, I/O errors, full, cantOpen, readOnly, noMemory, interrupt, …: may pass.
            return .unavailable(detail)
        }
    }
}
