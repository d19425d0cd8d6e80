import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
public import NotifyStore
import PostgresNIO
import ServiceLifecycle

/// The ``IdempotencyStore`` a fleet of workers shares: PostgreSQL.
///
/// Same protocol, same decision rule (``ClaimDecision``) and same contract
/// suite as the SQLite store. Each operation is one transaction on a pooled
/// connection (postgres-nio's `PostgresClient`; pool size
/// `max_connections` in the URL, default 10 per process).
///
/// **Claims: row locks, with `INSERT … ON CONFLICT` for the first claim.**
/// A claim reads the key's row with `SELECT … FOR UPDATE`, applies
/// ``ClaimDecision/decide(existing:request:retention:)`` in Swift and writes
/// what it says, then commits. Concurrent claims of one key by several
/// replicas queue on the row lock, so each decides on the row the previous
/// one committed. When there is no row yet, there is nothing to lock: the
/// claim inserts with `ON CONFLICT (key) DO NOTHING`, which waits for a
/// concurrent inserter and inserts nothing if it committed; the claim then
/// reads (and locks) that row and decides again. Why not one
/// `INSERT … ON CONFLICT DO UPDATE … WHERE` statement: the decision has nine
/// cases (conflict, duplicate, released after `failed`, takeovers in doubt…)
/// and must answer with the previous row for in-doubt takeovers; written in
/// SQL it would be a second copy of the rule, free to drift from the one the
/// SQLite store and the unit tests use. The row lock costs one round trip more
/// and keeps one rule. The default isolation level, READ COMMITTED, is enough:
/// every write is guarded by the lock or by the owner columns of its `WHERE`.
///
/// **Outages.** An operation that cannot get a connection or an answer within
/// ``Configuration-swift.struct/operationTimeout`` throws `store.unavailable`
/// (retriable); the worker retries it with backoff, its in-flight bound fills
/// and its partitions pause, and work resumes when the server answers again.
/// A transaction cut off before `COMMIT` changed nothing. One cut off during
/// `COMMIT` may have committed: a claim repeated afterwards finds the
/// process's own live lease (rule 6) and waits it out, an attempt repeated
/// afterwards counts as in doubt — never a second call.
///
/// **Life cycle.** Operations need ``run()`` running (it runs the connection
/// pool and the retention sweep); `init` connects once on its own to apply
/// migrations, so an unreachable server or a newer schema fails at start.
public final class PostgresIdempotencyStore: IdempotencyStore {
    /// The configuration the store was opened with.
    public let configuration: Configuration
    let client: PostgresClient
    let logger: Logger
    /// The fleet's salt of number hashes (storm slots), read once at open.
    let stormSalt: String
    private let life = NIOLockedValueBox(Life())
    private let stopped: AsyncStream<Void>
    private let stop: AsyncStream<Void>.Continuation

    private struct Life {
        var closed = false
        var active = 0
        var drained: [CheckedContinuation<Void, Never>] = []
    }

    public var retention: Duration { self.configuration.retention }

    /// Connects once, applies pending migrations (creating the tables in an
    /// empty database) and prepares the pool; ``run()`` starts it.
    ///
    /// Throws `store.unavailable` when the server cannot be reached or refuses
    /// the login, `store.migration` when the database holds a newer schema.
    public init(configuration: Configuration, logger: Logger) async throws(StoreError) {
        self.configuration = configuration
        self.logger = logger
        (self.stopped, self.stop) = AsyncStream<Void>.makeStream()
        self.stormSalt = try await Self.migrate(configuration: configuration, logger: logger)
        self.client = PostgresClient(configuration: configuration.client, backgroundLogger: logger)
        logger.info("idempotency store open", metadata: [
            "store.postgres": "\(configuration.displayName)",
            "store.schemaVersion": "\(PostgresSchema.latestVersion)",
        ])
    }

    /// Runs the connection pool and sweeps keys past retention every
    /// ``Configuration-swift.struct/sweepInterval``, until graceful shutdown,
    /// ``close()`` or cancellation. On graceful shutdown the store refuses new
    /// operations, lets those under way finish, then closes the pool.
    public func run() async throws {
        if self.life.withLockedValue({ $0.closed }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            group.addTask { await self.sweepPeriodically() }
            await withGracefulShutdownHandler {
                for await _ in self.stopped {}
            } onGracefulShutdown: {
                self.beginClosing()
            }
            group.cancelAll()
        }
        self.logger.debug("idempotency store closed", metadata: ["store.postgres": "\(self.configuration.displayName)"])
    }

    public func close() async {
        self.beginClosing()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done: Bool = self.life.withLockedValue { life in
                if life.active == 0 { return true }
                life.drained.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Refuses new operations; ends `run()` once none is under way.
    private func beginClosing() {
        let idle: Bool = self.life.withLockedValue { life in
            life.closed = true
            return life.active == 0
        }
        if idle { self.stop.finish() }
    }

    private func sweepPeriodically() async {
        let interval = self.configuration.sweepInterval
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            do throws(StoreError) {
                let swept = try await self.sweep(now: Date())
                if swept > 0 {
                    self.logger.debug("swept idempotency keys past retention", metadata: ["store.swept": "\(swept)"])
                }
            } catch where error.code == StoreError.closed().code {
                return
            } catch {
                self.logger.warning("idempotency store sweep failed", metadata: [
                    "error.code": "\(error.code)", "error.message": "\(error.message)",
                ])
            }
        }
    }

    // MARK: Operations

    /// Runs `body` on the pool, bounded by the operation timeout, counted
    /// as under way for ``close()``.
    func operation<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws(StoreError) -> T {
        let admitted: Bool = self.life.withLockedValue { life in
            guard !life.closed else { return false }
            life.active += 1
            return true
        }
        guard admitted else { throw .closed() }
        defer { self.leave() }
        let client = self.client
        let timeout = self.configuration.operationTimeout
        do {
            return try await Self.abandoningAfter(timeout, what) { try await body(client) }
        } catch {
            throw PostgresRecordCodec.storeError(error, doing: what)
        }
    }

    /// Runs `body`, but answers `store.unavailable` after `timeout` even if
    /// `body` has not returned — and then leaves it behind.
    ///
    /// This is the one unstructured `Task` of the store, on purpose: a
    /// postgres-nio 1.33 query written to a connection at the moment the
    /// server closes it is dropped by the channel, and its await never returns
    /// nor reacts to cancellation (seen here: after a PostgreSQL fast shutdown
    /// mid-transaction, a few operations hung forever; the test
    /// `everyOperationUnderWayWhenTheServerStopsEnds` reproduces it). A task
    /// group would wait for such a child forever, so the caller could never be
    /// told to retry. The abandoned task is cancelled; if it ever finishes, its
    /// answer is dropped. What it may have committed is what a lost `COMMIT`
    /// reply leaves, which the store's rules already make safe (see the type's
    /// documentation, "Outages").
    static func abandoningAfter<T: Sendable>(
        _ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let box = NIOLockedValueBox(Pending<T>())
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                box.withLockedValue { $0.continuation = continuation }
                let task = Task {
                    do {
                        let value = try await body()
                        box.withLockedValue { $0.take() }?.resume(returning: value)
                    } catch {
                        box.withLockedValue { $0.take() }?.resume(throwing: error)
                    }
                }
                let timer = NIOSingletons.posixEventLoopGroup.any().scheduleTask(in: .nanoseconds(Int64(Self.nanoseconds(timeout)))) {
                    task.cancel()
                    box.withLockedValue { $0.take() }?.resume(
                        throwing: StoreError.unavailable("\(what): no answer from PostgreSQL within \(timeout)"))
                }
                let finishedAlready: Bool = box.withLockedValue { pending in
                    pending.task = task
                    pending.timer = timer
                    return pending.finished
                }
                if finishedAlready { timer.cancel() }
            }
        } onCancel: {
            box.withLockedValue { $0.task }?.cancel()
        }
    }

    /// The state of one ``abandoningAfter(_:_:_:)``.
    struct Pending<T: Sendable>: Sendable {
        var continuation: CheckedContinuation<T, any Error>?
        var task: Task<Void, Never>?
        var timer: Scheduled<Void>?
        var finished = false

        /// The continuation, once: whoever takes it answers the caller.
        mutating func take() -> CheckedContinuation<T, any Error>? {
            self.finished = true
            self.timer?.cancel()
            defer { self.continuation = nil }
            return self.continuation
        }
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Runs `body` as one transaction (`BEGIN … COMMIT`, rolled back if it throws).
    func transaction<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (TransactionConnection, Logger) async throws -> T
    ) async throws(StoreError) -> T {
        let logger = self.logger
        return try await self.operation(what) { client in
            try await client.withConnection { postgres in
                let connection = TransactionConnection(connection: postgres)
                try await connection.query("BEGIN", logger: logger)
                do {
                    let value = try await body(connection, logger)
                    try await connection.query("COMMIT", logger: logger)
                    return value
                } catch {
                    // A connection the server closed has rolled back already.
                    if !postgres.isClosed {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                    }
                    throw error
                }
            }
        }
    }

    private func leave() {
        let (waiters, finished): ([CheckedContinuation<Void, Never>], Bool) = self.life.withLockedValue { life in
            life.active -= 1
            guard life.active == 0 else { return ([], false) }
            defer { life.drained = [] }
            return (life.drained, life.closed)
        }
        for waiter in waiters { waiter.resume() }
        if finished { self.stop.finish() }
    }

    /// A leased connection inside a transaction. Each query first checks that
    /// the connection is still open: postgres-nio 1.33's
    /// `PostgresConnection.query` on a connection the server has closed
    /// (a fast shutdown mid-transaction) never returns — its request is dropped
    /// by the closed channel, and the await cannot be cancelled. Seen here as
    /// operations hung forever after a server restart (the test
    /// `everyOperationUnderWayWhenTheServerStopsEnds`).
    struct TransactionConnection: Sendable {
        let connection: PostgresConnection

        @discardableResult
        func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
            guard !self.connection.isClosed else {
                throw StoreError.unavailable("the connection to PostgreSQL was closed")
            }
            return try await self.connection.query(query, logger: logger)
        }
    }

    // MARK: Migrations

    /// Applies pending migrations and returns the store's storm salt.
    private static func migrate(configuration: Configuration, logger: Logger) async throws(StoreError) -> String {
        let where_ = configuration.displayName
        // Its failed connection attempts are the caller's to report (the
        // worker says "waiting for the store" with the reason): at start they
        // would otherwise repeat at info level every few hundred milliseconds.
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let client = PostgresClient(configuration: configuration.client, backgroundLogger: quiet)
        do {
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let salt = NIOLockedValueBox<String?>(nil)
                try await Self.withTimeout(configuration.operationTimeout * 3, "opening \(where_)") {
                    try await client.withConnection { connection in
                        try await Self.migrate(connection, where: where_, logger: logger)
                        for try await value in try await connection.query(
                            "SELECT value FROM aicc_notify_meta WHERE name = 'storm.salt'", logger: logger
                        ).decode(String.self) {
                            salt.withLockedValue { $0 = value }
                        }
                    }
                }
                guard let value = salt.withLockedValue({ $0 }) else {
                    throw StoreError.corrupt("\(where_): aicc_notify_meta has no storm.salt")
                }
                return value
            }
        } catch let error as StoreError where error.code == "store.corrupt" {
            throw error
        } catch {
            let mapped = PostgresRecordCodec.storeError(error, doing: "opening \(where_)")
            throw mapped.code == "store.internal" ? .migration(mapped.message) : mapped
        }
    }

    private static func migrate(_ connection: PostgresConnection, where location: String, logger: Logger) async throws {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLockKey))", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: PostgresSchema.createMigrationsTable), logger: logger)
            var current = 0
            for try await (version) in try await connection.query(
                "SELECT COALESCE(MAX(version), 0)::bigint FROM aicc_notify_schema_migrations", logger: logger
            ).decode(Int.self) {
                current = version
            }
            guard current <= PostgresSchema.latestVersion else {
                throw StoreError.migration(
                    "\(location) has schema version \(current); this build knows versions up to \(PostgresSchema.latestVersion) (written by a newer aicc-notify?)")
            }
            for migration in PostgresSchema.migrations where migration.version > current {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                let now = StoreTime.millis(Date())
                try await connection.query(
                    "INSERT INTO aicc_notify_schema_migrations (version, applied_at) VALUES (\(migration.version), \(now))",
                    logger: logger)
                logger.info("idempotency store migrated", metadata: [
                    "store.postgres": "\(location)", "store.schemaVersion": "\(migration.version)",
                ])
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    private static func withTimeout(
        _ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body()
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            defer { group.cancelAll() }
            guard try await group.next() == true else {
                throw StoreError.unavailable("\(what): no answer from PostgreSQL within \(timeout)")
            }
        }
    }
}
