/// The SQLite schema, as numbered migrations.
///
/// `schema_migrations` lists the versions applied. Opening a file applies, in
/// one transaction, every migration above the file's highest version; a file
/// whose version is above ``latestVersion`` was written by a newer build and
/// is refused (`store.migration`). To change the schema, append a migration
/// with the next version; never edit a released one.
enum SQLiteSchema {
    struct Migration: Sendable {
        var version: Int
        var statements: [String]
    }

    static let migrations: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE idempotency_keys (
                key TEXT PRIMARY KEY NOT NULL,
                request_id TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('claimed', 'done')),
                owner_worker TEXT NOT NULL,
                owner_incarnation TEXT NOT NULL,
                lease_expires_at INTEGER,
                claimed_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                call_pending INTEGER NOT NULL DEFAULT 0,
                in_doubt INTEGER NOT NULL DEFAULT 0,
                in_doubt_takeover INTEGER NOT NULL DEFAULT 0,
                outcome TEXT,
                call_serial_no TEXT,
                result BLOB,
                completed_at INTEGER
            )
            """,
            "CREATE INDEX idempotency_keys_call_serial_no ON idempotency_keys (call_serial_no) WHERE call_serial_no IS NOT NULL",
            "CREATE INDEX idempotency_keys_completed_at ON idempotency_keys (completed_at) WHERE state = 'done'",
            "CREATE INDEX idempotency_keys_claimed_at ON idempotency_keys (claimed_at) WHERE state = 'claimed'",
        ]),
        // Storm protection (product §10): the store's own salt for number
        // hashes, and one slot per call counted against a number.
        Migration(version: 2, statements: [
            "CREATE TABLE store_meta (name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
            "INSERT INTO store_meta (name, value) VALUES ('storm.salt', lower(hex(randomblob(32))))",
            """
            CREATE TABLE storm_slots (
                number_hash TEXT NOT NULL,
                key TEXT NOT NULL,
                placed_at INTEGER NOT NULL,
                PRIMARY KEY (number_hash, key)
            )
            """,
            "CREATE INDEX storm_slots_key ON storm_slots (key)",
            "CREATE INDEX storm_slots_placed_at ON storm_slots (placed_at)",
        ]),
        // Trace context (product §11): the claiming dispatch's W3C trace
        // context, the parent of the key's call-status events.
        Migration(version: 3, statements: [
            "ALTER TABLE idempotency_keys ADD COLUMN trace_parent TEXT",
            "ALTER TABLE idempotency_keys ADD COLUMN trace_state TEXT",
        ]),
        // Escalation (product §12): one row per routed alert's escalation,
        // the worker's state opaque, the columns a sweep and a CAS need.
        Migration(version: 4, statements: [
            """
            CREATE TABLE escalations (
                id TEXT PRIMARY KEY NOT NULL,
                subject TEXT NOT NULL,
                version INTEGER NOT NULL,
                deadline INTEGER NOT NULL,
                ended INTEGER NOT NULL,
                emission_pending INTEGER NOT NULL,
                body BLOB NOT NULL,
                updated_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX escalations_deadline ON escalations (deadline) WHERE ended = 0",
            "CREATE INDEX escalations_emission_pending ON escalations (deadline) WHERE emission_pending = 1",
            "CREATE INDEX escalations_subject ON escalations (subject) WHERE ended = 0",
            "CREATE INDEX escalations_updated_at ON escalations (updated_at) WHERE ended = 1",
        ]),
    ]

    static var latestVersion: Int { migrations.last?.version ?? 0 }

    static let createMigrationsTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY NOT NULL,
            applied_at INTEGER NOT NULL
        )
        """

    /// The record columns, in the order ``SQLiteRecordCodec`` reads them (by position).
    static let recordColumns = """
        key, request_id, fingerprint, state, owner_worker, owner_incarnation, lease_expires_at, claimed_at, \
        attempts, call_pending, in_doubt, in_doubt_takeover, outcome, call_serial_no, result, completed_at, \
        trace_parent, trace_state
        """

    /// The escalation columns, in the order ``SQLiteIdempotencyStore`` reads them.
    static let escalationColumns = "id, subject, version, deadline, ended, emission_pending, body"

    /// How many ``recordColumns`` there are.
    static let recordColumnCount = recordColumns.split(separator: ",").count
}
