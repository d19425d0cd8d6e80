import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SQLiteNIO
import ServiceLifecycle

/// The embedded ``IdempotencyStore``: one SQLite file in WAL mode.
///
/// One connection, opened once, serves every operation; a FIFO gate keeps one
/// transaction at a time on it (SQLite has a single writer anyway). All
/// libsqlite3 calls run on a thread of the store's own `NIOThreadPool`, never
/// on the cooperative pool. Operations that arrive while a transaction is
/// under way share the next one (group commit, ``transaction(_:_:)``); each is
/// durable when it returns per ``Configuration-swift.struct/synchronous``
/// (default `FULL`: fsynced).
///
/// Several processes may open the same file (SQLite file locks; a writer waits
/// up to ``Configuration-swift.struct/busyTimeout``), but the file must be on
/// a local file system.
public final class SQLiteIdempotencyStore: IdempotencyStore {
    private enum Phase {
        case open(SQLiteConnection)
        case closed
    }

    /// The configuration the store was opened with.
    public let configuration: Configuration
    private let logger: Logger
    private let threadPool: NIOThreadPool
    let gate = AsyncSerialGate()
    /// Operations waiting for the next group commit (SQLiteIdempotencyStore+GroupCommit.swift).
    let queue = NIOLockedValueBox<[SQLiteBatchJob]>([])
    private let phase: NIOLockedValueBox<Phase>
    /// The salt of number hashes (storm slots), read once at open.
    let stormSalt = NIOLockedValueBox("")

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
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        self.threadPool = threadPool
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: .file(path: configuration.path),
                threadPool: threadPool,
                logger: logger,
                on: MultiThreadedEventLoopGroup.singleton.any()
            )
        } catch {
            try? await threadPool.shutdownGracefully()
            throw SQLiteRecordCodec.storeError(error, doing: "opening \(configuration.path)")
        }
        self.phase = NIOLockedValueBox(.open(connection))
        do throws(StoreError) {
            try await Self.prepare(connection, configuration: configuration, logger: logger)
            let salt: String?
            do {
                salt = try await connection.execute("SELECT value FROM store_meta WHERE name = 'storm.salt'").first?.column("value")?.string
            } catch {
                throw SQLiteRecordCodec.storeError(error, doing: "opening \(configuration.path)")
            }
            guard let salt else { throw StoreError.corrupt("\(configuration.path): store_meta has no storm.salt") }
            self.stormSalt.withLockedValue { $0 = salt }
        } catch {
            await self.close()
            throw error
        }
        logger.info("idempotency store open", metadata: [
            "store.path": "\(configuration.path)",
            "store.schemaVersion": "\(SQLiteSchema.latestVersion)",
            "store.synchronous": "\(configuration.synchronous.rawValue)",
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
                do {
                    let swept = try await self.sweep(now: Date())
                    if swept > 0 {
                        self.logger.debug("swept idempotency keys past retention", metadata: ["store.swept": "\(swept)"])
                    }
                } catch let error as StoreError {
                    self.logger.warning("idempotency store sweep failed", metadata: [
                        "error.code": "\(error.code)", "error.message": "\(error.message)",
                    ])
                } catch {
                    self.logger.warning("idempotency store sweep failed", metadata: ["error.message": "\(error)"])
                }
            }
        }
        await self.close()
    }

    public func close() async {
        await self.gate.acquire()
        let connection: SQLiteConnection? = self.phase.withLockedValue { phase in
            defer { phase = .closed }
            if case .open(let connection) = phase { return connection }
            return nil
        }
        self.gate.release()
        guard let connection else { return }
        do {
            try await connection.closeUncancellable()
        } catch {
            self.logger.error("closing the idempotency store failed", metadata: ["error.message": "\(error)"])
        }
        try? await self.threadPool.shutdownGracefully()
        self.logger.debug("idempotency store closed", metadata: ["store.path": "\(self.configuration.path)"])
    }

    // MARK: Transactions

    /// The connection, unless the store is closed.
    var openConnection: SQLiteConnection? {
        guard case .open(let connection) = self.phase.withLockedValue({ $0 }) else { return nil }
        return connection
    }

    /// Runs one read-only statement (queued like any operation, see
    /// ``transaction(_:_:)``; it sees what committed before it).
    func read(_ what: String, _ sql: String, _ binds: [SQLiteData]) async throws(StoreError) -> [SQLiteRow] {
        try await self.transaction(what) { connection in
            try await connection.execute(sql, binds)
        }
    }

    // MARK: Opening

    private static func prepare(_ connection: SQLiteConnection, configuration: Configuration, logger: Logger) async throws(StoreError) {
        do {
            let mode = try await connection.execute("PRAGMA journal_mode = WAL").first?.column("journal_mode")?.string
            guard mode?.lowercased() == "wal" else {
                throw StoreError.unavailable("\(configuration.path): could not switch to WAL mode (journal_mode is \(mode ?? "unknown"))")
            }
            let synchronous = configuration.synchronous == .full ? "FULL" : "NORMAL"
            _ = try await connection.execute("PRAGMA synchronous = \(synchronous)")
            let busyMillis = max(0, Int(configuration.busyTimeout.timeInterval * 1000))
            // Replaces sqlite-nio's retry-forever busy handler with a bounded wait.
            _ = try await connection.execute("PRAGMA busy_timeout = \(busyMillis)")
        } catch {
            throw SQLiteRecordCodec.storeError(error, doing: "opening \(configuration.path)")
        }
        try await Self.migrate(connection, path: configuration.path, logger: logger)
    }

    private static func migrate(_ connection: SQLiteConnection, path: String, logger: Logger) async throws(StoreError) {
        do {
            _ = try await connection.execute("BEGIN IMMEDIATE")
            do {
                _ = try await connection.execute(SQLiteSchema.createMigrationsTable)
                let current = try await connection.execute("SELECT MAX(version) AS version FROM schema_migrations")
                    .first?.column("version")?.integer.map { Int($0) } ?? 0
                guard current <= SQLiteSchema.latestVersion else {
                    throw StoreError.migration(
                        "\(path) has schema version \(current); this build knows versions up to \(SQLiteSchema.latestVersion) (written by a newer aicc-notify?)")
                }
                for migration in SQLiteSchema.migrations where migration.version > current {
                    for statement in migration.statements {
                        _ = try await connection.execute(statement)
                    }
                    _ = try await connection.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                        [.integer(migration.version), .integer(StoreTime.millis(Date()))]
                    )
                    logger.info("idempotency store migrated", metadata: ["store.path": "\(path)", "store.schemaVersion": "\(migration.version)"])
                }
                _ = try await connection.execute("COMMIT")
            } catch {
                _ = try? await connection.execute("ROLLBACK")
                throw error
            }
        } catch let error as StoreError {
            throw error
        } catch {
            let mapped = SQLiteRecordCodec.storeError(error, doing: "migrating \(path)")
            throw mapped.code == "store.internal" ? .migration(mapped.message) : mapped
        }
    }
}
