public import Foundation
import GRDB
public import NotifyStore

/// Escalations (product §12) in the SQLite file: each operation one job of
/// the group commit, like the key operations.
extension SQLiteIdempotencyStore {
    private static let selectEscalations = "SELECT \(SQLiteSchema.escalationColumns) FROM escalations"

    public func createEscalation(_ escalation: StoredEscalation, now: Date) async throws(StoreError) -> Bool {
        try await self.transaction("creating escalation \(escalation.id)") { db in
            try db.cachedStatement(sql: """
                INSERT INTO escalations (\(SQLiteSchema.escalationColumns), updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO NOTHING
                """).execute(arguments: Self.arguments(escalation, version: escalation.version, now: now))
            return db.changesCount > 0
        }
    }

    public func escalation(id: String) async throws(StoreError) -> StoredEscalation? {
        try await self.transaction("reading escalation \(id)") { db in
            try Row.fetchOne(db.cachedStatement(sql: "\(Self.selectEscalations) WHERE id = ?"), arguments: [id]).map(Self.escalation)
        }
    }

    public func activeEscalations(subject: String) async throws(StoreError) -> [StoredEscalation] {
        try await self.transaction("reading escalations of a subject") { db in
            try Row.fetchAll(db.cachedStatement(sql: "\(Self.selectEscalations) WHERE subject = ? AND ended = 0"), arguments: [subject])
                .map(Self.escalation)
        }
    }

    public func updateEscalation(_ escalation: StoredEscalation, expectedVersion: Int64, now: Date) async throws(StoreError) -> Bool {
        try await self.transaction("updating escalation \(escalation.id)") { db in
            try db.cachedStatement(sql: """
                UPDATE escalations SET subject = ?, version = ?, deadline = ?, ended = ?, emission_pending = ?, body = ?, updated_at = ?
                WHERE id = ? AND version = ?
                """).execute(arguments: [
                    escalation.subject, expectedVersion + 1, StoreTime.millis(escalation.deadline), escalation.isEnded,
                    escalation.emissionPending, Data(escalation.body), StoreTime.millis(now), escalation.id, expectedVersion,
                ])
            return db.changesCount > 0
        }
    }

    public func dueEscalations(now: Date, limit: Int) async throws(StoreError) -> [StoredEscalation] {
        try await self.transaction("reading due escalations") { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    \(Self.selectEscalations) WHERE (ended = 0 AND deadline <= ?) OR emission_pending = 1
                    ORDER BY deadline LIMIT ?
                    """),
                arguments: [StoreTime.millis(now), limit]
            ).map(Self.escalation)
        }
    }

    public func activeEscalationCount() async throws(StoreError) -> Int {
        try await self.transaction("counting escalations") { db in
            try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM escalations WHERE ended = 0")) ?? 0
        }
    }

    private static func arguments(_ escalation: StoredEscalation, version: Int64, now: Date) -> StatementArguments {
        [
            escalation.id, escalation.subject, version, StoreTime.millis(escalation.deadline), escalation.isEnded,
            escalation.emissionPending, Data(escalation.body), StoreTime.millis(now),
        ]
    }

    private static func escalation(_ row: Row) -> StoredEscalation {
        StoredEscalation(
            id: row[0], subject: row[1], version: row[2], deadline: StoreTime.date(row[3]), isEnded: row[4],
            emissionPending: row[5], body: Array(row[6] as Data))
    }
}
