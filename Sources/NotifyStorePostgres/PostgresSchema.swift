import Foundation

/// The PostgreSQL schema, as numbered migrations.
///
/// The tables carry an `aicc_notify_` prefix, so that the store can share a
/// database with other applications. Times are whole milliseconds since 1970
/// in `bigint` columns, exactly as in the SQLite store: no time-zone
/// conversion anywhere, and both stores answer with equal records.
///
/// Opening the store applies, in one transaction holding a transaction-level
/// advisory lock (so that replicas starting together migrate once), every
/// migration above the database's highest version. A database whose version
/// is above ``latestVersion`` was written by a newer build and is refused
/// (`store.migration`). To change the schema, append a migration with the
/// next version; never edit a released one.
enum PostgresSchema {
    struct Migration: Sendable {
        var version: Int
        var statements: [String]
    }

    /// The key of `pg_advisory_xact_lock` taken while migrating (an arbitrary
    /// constant: "aicc-notify" folded into 63 bits).
    static let migrationLockKey: Int64 = 0x6169_6363_6E6F_7479

    static let migrations: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE aicc_notify_keys (
                key text PRIMARY KEY,
                request_id text NOT NULL,
                fingerprint text NOT NULL,
                state text NOT NULL CHECK (state IN ('claimed', 'done')),
                owner_worker text NOT NULL,
                owner_incarnation text NOT NULL,
                lease_expires_at bigint,
                claimed_at bigint NOT NULL,
                attempts bigint NOT NULL DEFAULT 0,
                call_pending boolean NOT NULL DEFAULT false,
                in_doubt boolean NOT NULL DEFAULT false,
                in_doubt_takeover boolean NOT NULL DEFAULT false,
                outcome text,
                call_serial_no text,
                result bytea,
                completed_at bigint
            )
            """,
            "CREATE INDEX aicc_notify_keys_call_serial_no ON aicc_notify_keys (call_serial_no) WHERE call_serial_no IS NOT NULL",
            "CREATE INDEX aicc_notify_keys_completed_at ON aicc_notify_keys (completed_at) WHERE state = 'done'",
            "CREATE INDEX aicc_notify_keys_claimed_at ON aicc_notify_keys (claimed_at) WHERE state = 'claimed'",
        ]),
        // Storm protection (product §10): the fleet's one salt for number
        // hashes, and one slot per call counted against a number.
        Migration(version: 2, statements: [
            "CREATE TABLE aicc_notify_meta (name text PRIMARY KEY, value text NOT NULL)",
            """
            INSERT INTO aicc_notify_meta (name, value)
            VALUES ('storm.salt', encode(sha256((random()::text || clock_timestamp()::text || pg_backend_pid()::text)::bytea), 'hex'))
            """,
            """
            CREATE TABLE aicc_notify_storm_slots (
                number_hash text NOT NULL,
                key text NOT NULL,
                placed_at bigint NOT NULL,
                PRIMARY KEY (number_hash, key)
            )
            """,
            "CREATE INDEX aicc_notify_storm_slots_key ON aicc_notify_storm_slots (key)",
            "CREATE INDEX aicc_notify_storm_slots_placed_at ON aicc_notify_storm_slots (placed_at)",
        ]),
        // Trace context (product §11): the claiming dispatch's W3C trace
        // context, the parent of the key's call-status events.
        Migration(version: 3, statements: [
            "ALTER TABLE aicc_notify_keys ADD COLUMN trace_parent text",
            "ALTER TABLE aicc_notify_keys ADD COLUMN trace_state text",
        ]),
        // Escalation (product §12): one row per routed alert's escalation,
        // the worker's state opaque, the columns a sweep and a CAS need.
        Migration(version: 4, statements: [
            """
            CREATE TABLE aicc_notify_escalations (
                id text PRIMARY KEY,
                subject text NOT NULL,
                version bigint NOT NULL,
                deadline bigint NOT NULL,
                ended boolean NOT NULL,
                emission_pending boolean NOT NULL,
                body bytea NOT NULL,
                updated_at bigint NOT NULL
            )
            """,
            "CREATE INDEX aicc_notify_escalations_deadline ON aicc_notify_escalations (deadline) WHERE NOT ended",
            "CREATE INDEX aicc_notify_escalations_emission_pending ON aicc_notify_escalations (deadline) WHERE emission_pending",
            "CREATE INDEX aicc_notify_escalations_subject ON aicc_notify_escalations (subject) WHERE NOT ended",
            "CREATE INDEX aicc_notify_escalations_updated_at ON aicc_notify_escalations (updated_at) WHERE ended",
        ]),
    ]

    static var latestVersion: Int { migrations.last?.version ?? 0 }

    static let createMigrationsTable = """
        CREATE TABLE IF NOT EXISTS aicc_notify_schema_migrations (
            version integer PRIMARY KEY,
            applied_at bigint NOT NULL
        )
        """

    /// The record columns, in the order ``PostgresRecordCodec`` reads them by name.
    static let recordColumns = """
        key, request_id, fingerprint, state, owner_worker, owner_incarnation, lease_expires_at, claimed_at, \
        attempts, call_pending, in_doubt, in_doubt_takeover, outcome, call_serial_no, result, completed_at, \
        trace_parent, trace_state
        """

    /// ``recordColumns`` of the key table aliased `k`.
    static let qualifiedRecordColumns = recordColumns.split(separator: ",")
        .map { "k." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")
}
