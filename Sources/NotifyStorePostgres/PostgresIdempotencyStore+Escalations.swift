public import Foundation
import Logging
public import NotifyStore
import PostgresNIO

/// Escalations (product §12) in PostgreSQL: each operation one statement, so
/// one round trip; the compare-and-set is a single `UPDATE … WHERE version =`,
/// which PostgreSQL applies atomically under the row lock, so of two workers
/// (processes) deciding one step exactly one write lands.
extension PostgresIdempotencyStore {
    private static let columns = "id, subject, version, deadline, ended, emission_pending, body"

    public func createEscalation(_ escalation: StoredEscalation, now: Date) async throws(StoreError) -> Bool {
        let deadline = StoreTime.millis(escalation.deadline), updated = StoreTime.millis(now)
        let body = ByteBuffer(bytes: escalation.body)
        return try await self.operation("creating escalation \(escalation.id)") { client in
            try await Self.rowCount(client.query(
                """
                INSERT INTO aicc_notify_escalations (\(unescaped: Self.columns), updated_at)
                VALUES (\(escalation.id), \(escalation.subject), \(escalation.version), \(deadline), \(escalation.isEnded),
                        \(escalation.emissionPending), \(body), \(updated))
                ON CONFLICT (id) DO NOTHING
                RETURNING 1
                """, logger: self.logger)) > 0
        }
    }

    public func escalation(id: String) async throws(StoreError) -> StoredEscalation? {
        try await self.operation("reading escalation \(id)") { client in
            try await Self.escalations(client.query(
                "SELECT \(unescaped: Self.columns) FROM aicc_notify_escalations WHERE id = \(id)", logger: self.logger)).first
        }
    }

    public func activeEscalations(subject: String) async throws(StoreError) -> [StoredEscalation] {
        try await self.operation("reading escalations of a subject") { client in
            try await Self.escalations(client.query(
                "SELECT \(unescaped: Self.columns) FROM aicc_notify_escalations WHERE subject = \(subject) AND NOT ended",
                logger: self.logger))
        }
    }

    public func updateEscalation(_ escalation: StoredEscalation, expectedVersion: Int64, now: Date) async throws(StoreError) -> Bool {
        let deadline = StoreTime.millis(escalation.deadline), updated = StoreTime.millis(now)
        let body = ByteBuffer(bytes: escalation.body)
        return try await self.operation("updating escalation \(escalation.id)") { client in
            try await Self.rowCount(client.query(
                """
                UPDATE aicc_notify_escalations
                SET subject = \(escalation.subject), version = \(expectedVersion + 1), deadline = \(deadline),
                    ended = \(escalation.isEnded), emission_pending = \(escalation.emissionPending), body = \(body),
                    updated_at = \(updated)
                WHERE id = \(escalation.id) AND version = \(expectedVersion)
                RETURNING 1
                """, logger: self.logger)) > 0
        }
    }

    public func dueEscalations(now: Date, limit: Int) async throws(StoreError) -> [StoredEscalation] {
        let nowMillis = StoreTime.millis(now)
        return try await self.operation("reading due escalations") { client in
            try await Self.escalations(client.query(
                """
                SELECT \(unescaped: Self.columns) FROM aicc_notify_escalations
                WHERE (NOT ended AND deadline <= \(nowMillis)) OR emission_pending
                ORDER BY deadline LIMIT \(limit)
                """, logger: self.logger))
        }
    }

    public func activeEscalationCount() async throws(StoreError) -> Int {
        try await self.operation("counting escalations") { client in
            var count = 0
            for try await value in try await client.query(
                "SELECT count(*)::bigint FROM aicc_notify_escalations WHERE NOT ended", logger: self.logger
            ).decode(Int.self) {
                count = value
            }
            return count
        }
    }

    private static func rowCount(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    private static func escalations(_ rows: PostgresRowSequence) async throws -> [StoredEscalation] {
        var escalations: [StoredEscalation] = []
        for try await (id, subject, version, deadline, ended, pending, body) in rows.decode(
            (String, String, Int64, Int, Bool, Bool, ByteBuffer).self
        ) {
            escalations.append(StoredEscalation(
                id: id, subject: subject, version: version, deadline: StoreTime.date(deadline), isEnded: ended,
                emissionPending: pending, body: Array(buffer: body)))
        }
        return escalations
    }
}
