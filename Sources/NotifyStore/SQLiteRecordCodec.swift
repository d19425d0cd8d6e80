import Foundation
import NIOCore
import NotifyCore
import SQLiteNIO

/// Maps ``StoredRecord`` to and from SQLite values, and SQLite errors to ``StoreError``.
enum SQLiteRecordCodec {
    /// The binds for `INSERT OR REPLACE INTO idempotency_keys (recordColumns) VALUES (?, …)`.
    static func binds(_ record: StoredRecord) -> [SQLiteData] {
        [
            .text(record.key),
            .text(record.requestId),
            .text(record.fingerprint),
            .text(record.state.rawValue),
            .text(record.owner.worker),
            .text(record.owner.incarnation),
            record.leaseExpiresAt.map { SQLiteData.integer(StoreTime.millis($0)) } ?? SQLiteData.null,
            .integer(StoreTime.millis(record.claimedAt)),
            .integer(record.attempts),
            .integer(record.callPending ? 1 : 0),
            .integer(record.inDoubt ? 1 : 0),
            .integer(record.inDoubtTakeover ? 1 : 0),
            record.outcome.map { SQLiteData.text($0.rawValue) } ?? SQLiteData.null,
            record.callSerialNo.map { SQLiteData.text($0) } ?? SQLiteData.null,
            record.result.map { SQLiteData.blob(ByteBuffer(bytes: $0)) } ?? SQLiteData.null,
            record.completedAt.map { SQLiteData.integer(StoreTime.millis($0)) } ?? SQLiteData.null,
            record.traceParent.map { SQLiteData.text($0) } ?? SQLiteData.null,
            record.traceState.map { SQLiteData.text($0) } ?? SQLiteData.null,
        ]
    }

    /// Reads a row selected with ``SQLiteSchema/recordColumns``.
    static func record(_ row: SQLiteRow) throws(StoreError) -> StoredRecord {
        func text(_ name: String) throws(StoreError) -> String {
            guard let value = row.column(name)?.string else { throw .corrupt("idempotency_keys.\(name) is missing") }
            return value
        }
        func optionalText(_ name: String) -> String? {
            guard let value = row.column(name), !value.isNull else { return nil }
            return value.string
        }
        func integer(_ name: String) throws(StoreError) -> Int {
            guard let value = row.column(name)?.integer else { throw .corrupt("idempotency_keys.\(name) is not an integer") }
            return Int(value)
        }
        func optionalInteger(_ name: String) -> Int? {
            guard let value = row.column(name), !value.isNull else { return nil }
            return value.integer.map { Int($0) }
        }
        let key = try text("key")
        guard let state = StoredRecord.State(rawValue: try text("state")) else {
            throw .corrupt("idempotency_keys.state of key \(key) is unknown")
        }
        var outcome: NotificationResult.Outcome?
        if let raw = optionalText("outcome") {
            guard let parsed = NotificationResult.Outcome(rawValue: raw) else {
                throw .corrupt("idempotency_keys.outcome `\(raw)` of key \(key) is unknown")
            }
            outcome = parsed
        }
        var result: [UInt8]?
        if let value = row.column("result"), !value.isNull {
            guard let buffer = value.blob else { throw .corrupt("idempotency_keys.result of key \(key) is not a blob") }
            result = Array(buffer.readableBytesView)
        }
        return StoredRecord(
            key: key,
            requestId: try text("request_id"),
            fingerprint: try text("fingerprint"),
            state: state,
            owner: StoreOwner(worker: try text("owner_worker"), incarnation: try text("owner_incarnation")),
            leaseExpiresAt: optionalInteger("lease_expires_at").map(StoreTime.date),
            claimedAt: StoreTime.date(try integer("claimed_at")),
            attempts: try integer("attempts"),
            callPending: try integer("call_pending") != 0,
            inDoubt: try integer("in_doubt") != 0,
            inDoubtTakeover: try integer("in_doubt_takeover") != 0,
            outcome: outcome,
            callSerialNo: optionalText("call_serial_no"),
            result: result,
            completedAt: optionalInteger("completed_at").map(StoreTime.date),
            traceParent: optionalText("trace_parent"),
            traceState: optionalText("trace_state")
        )
    }

    /// A store error for whatever a SQLite call threw.
    static func storeError(_ error: any Error, doing what: String) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? SQLiteError else {
            return .unavailable("\(what): \(error)")
        }
        let detail = "\(what): \(error.message) (\(error.reason))"
        switch error.reason {
        case .corrupt, .notADatabase, .corruptIndex, .corruptSequenceSchema, .corruptVirtualTable, .format:
            return .corrupt(detail)
        case .constraint, .misuse, .mismatch, .range, .tooBig, .schema, .error:
            return .internal(detail)
        default:
            // busy, locked, I/O errors, full, cantOpen, readOnly, noMemory, interrupt, …: may pass.
            return .unavailable(detail)
        }
    }
}
