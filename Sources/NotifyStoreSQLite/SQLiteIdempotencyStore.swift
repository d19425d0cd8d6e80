import Foundation
import GRDB
public import Logging
import NIOConcurrencyHelpers
public import NotifyStore
import ServiceLifecycle

/// The embedded ``IdempotencyStore``: one SQLite file in WAL mode, through
/// GRDB.
///
/// One connection (a GRDB `DatabaseQueue`), opened once, serves every
/// operation on its own serial dispatch queue; libsqlite3 never runs on the
/// cooperative pool. Operations that arrive while a transaction is under way
/// share the next one (group commit, ``transaction(_:_:)``): one hand-off to
/// the queue per batch, one `BEGIN IMMEDIATE … COMMIT` per batch, statements
/// from GRDB's statement cache. Each operation is durable when it returns per
/// ``Configuration-swift.struct/synchronous`` (default `FULL`: fsynced).
///
/// Several processes may open the same file (SQLite file locks; a writer waits
/// up to ``Configuration-swift.struct/busyTimeout``), but the file must be on
/// a local file system.
public final class SQLiteIdempotencyStore: IdempotencyStore {
    /// The configuration the store was opened with.
    public let configuration: Configuration
    let logger: Logger
    let database: DatabaseQueue
    /// Operations waiting for the next group commit (SQLiteIdempotencyStore+GroupCommit.swift).
    let writes = NIOLockedValueBox(WriteState())
    /// The salt of number hashes (storm slots), read once at open.
    let stormSalt: String
    /// The `synchronous` level the connection reported after opening (it
    /// must be the configured one: the store refuses to open otherwise).
    public let synchronousInEffect: Configuration.Synchronous

    public var retention: Duration { self.configuration.retention }

    /// Opens (creating if needed) the database file, sets WAL mode, the
    /// synchronous level and the busy timeout, and applies pending migrations.
    ///
    /// Throws `store.migration` when the file was written by a newer schema
    /// version, `store.corrupt` when it is not a database, `store.unavailable`
    /// when it cannot be opened (missing directory, permissions, locked).
    public init(configuration: Configuration, logger: Logger) async throws(StoreError) {
        self.configuration = configuration
        self.logger = logger
        var grdb = GRDB.Configuration()
        grdb.label = "aicc-notify.store"
        grdb.journalMode = .wal
        grdb.busyMode = .timeout(max(0, configuration.busyTimeout.timeInterval))
        let path = configuration.path
        let database: DatabaseQueue
        do {
            database = try DatabaseQueue(path: path, configuration: grdb)
        } catch {
            throw SQLiteRecordCodec.storeError(error, doing: "opening \(path)")
        }
        let prepared: (salt: String, synchronous: Configuration.Synchronous)
        do throws(StoreError) {
            prepared = try await Self.prepare(database, path: path, synchronous: configuration.synchronous, logger: logger)
            guard prepared.synchronous == configuration.synchronous else {
                throw StoreError.unavailable(
                    "\(path): synchronous is \(prepared.synchronous.rawValue) after opening, not \(configuration.synchronous.rawValue)")
            }
        } catch {
            try? database.close()
            throw error
        }
        self.stormSalt = prepared.salt
        self.synchronousInEffect = prepared.synchronous
        self.database = database
        logger.info("idempotency store open", metadata: [
            "store.path": "\(path)",
            "store.schemaVersion": "\(SQLiteSchema.latestVersion)",
            "store.synchronous": "\(self.synchronousInEffect.rawValue)",
        ])
    }

    /// Sweeps keys past retention every ``Configuration-swift.struct/sweepInterval``
    /// until graceful shutdown or cancellation, then closes the store.
    public func run() async throws {
        let interval = self.configuration.sweepInterval
        await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    break
                }
                do throws(StoreError) {
                    let swept = try await self.sweep(now: Date())
                    if swept > 0 {
                        self.logger.debug("swept idempotency keys past retention", metadata: ["store.swept": "\(swept)"])
                    }
                } catch {
                    self.logger.warning("idempotency store sweep failed", metadata: [
                        "error.code": "\(error.code)", "error.message": "\(error.message)",
                    ])
                }
            }
        }
        await self.close()
    }

    public func close() async {
        // No operation is accepted from now on; the ones queued finish first.
        await self.closeWrites()
        do {
            try self.database.close()
        } catch {
            self.logger.error("closing the idempotency store failed", metadata: ["error.message": "\(error)"])
        }
        self.logger.debug("idempotency store closed", metadata: ["store.path": "\(self.configuration.path)"])
    }

    // MARK: Opening

    /// Checks WAL mode, sets the synchronous level and reads it back, migrates,
    /// and reads the storm salt.
    private static func prepare(
        _ database: DatabaseQueue, path: String, synchronous wanted: Configuration.Synchronous, logger: Logger
    ) async throws(StoreError) -> (salt: String, synchronous: Configuration.Synchronous) {
        do {
            return try await database.writeWithoutTransaction { db in
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode")
                guard mode?.lowercased() == "wal" else {
                    throw StoreError.unavailable("\(path): could not switch to WAL mode (journal_mode is \(mode ?? "unknown"))")
                }
                // Per connection, and after GRDB's own WAL set-up, which sets
                // NORMAL (a `prepareDatabase` hook runs before it and is undone).
                try db.execute(sql: "PRAGMA synchronous = \(wanted == .full ? "FULL" : "NORMAL")")
                // 1 = NORMAL, 2 = FULL (0 OFF and 3 EXTRA are never set here).
                let level = try Int.fetchOne(db, sql: "PRAGMA synchronous")
                let synchronous: Configuration.Synchronous
                switch level {
                case 1: synchronous = .normal
                case 2: synchronous = .full
                default: throw StoreError.unavailable("\(path): synchronous is \(level.map(String.init) ?? "unknown"), not NORMAL or FULL")
                }
                try Self.migrate(db, path: path, logger: logger)
                guard let salt = try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE name = 'storm.salt'") else {
                    throw StoreError.corrupt("\(path): store_meta has no storm.salt")
                }
                return (salt, synchronous)
            }
        } catch {
            throw SQLiteRecordCodec.storeError(error, doing: "opening \(path)")
        }
    }

    private static func migrate(_ db: Database, path: String, logger: Logger) throws {
        do {
            try db.inTransaction(.immediate) {
                try db.execute(sql: SQLiteSchema.createMigrationsTable)
                let current = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM schema_migrations") ?? 0
                guard current <= SQLiteSchema.latestVersion else {
                    throw StoreError.migration(
                        "\(path) has schema version \(current); this build knows versions up to \(SQLiteSchema.latestVersion) (written by a newer aicc-notify?)")
                }
                for migration in SQLiteSchema.migrations where migration.version > current {
                    for statement in migration.statements {
                        try db.execute(sql: statement)
                    }
                    try db.execute(
                        sql: "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                        arguments: [migration.version, StoreTime.millis(Date())])
                    logger.info("idempotency store migrated", metadata: ["store.path": "\(path)", "store.schemaVersion": "\(migration.version)"])
                }
                return .commit
            }
        } catch let error as StoreError {
            throw error
        } catch {
            let mapped = SQLiteRecordCodec.storeError(error, doing: "migrating \(path)")
            throw mapped.code == "store.internal" ? .migration(mapped.message) : mapped
        }
    }
}
