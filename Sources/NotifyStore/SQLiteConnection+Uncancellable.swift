import NIOCore
import SQLiteNIO

extension SQLiteConnection {
    /// Runs one statement to completion and returns its rows, even when the
    /// calling task is cancelled.
    ///
    /// sqlite-nio's `async` API gives up on a cancelled task before running
    /// the statement; inside a transaction that would leave `BEGIN` without
    /// `COMMIT`/`ROLLBACK` on the shared connection. Store statements are
    /// short, so they always finish (through the future-based API).
    func execute(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        let rows: EventLoopFuture<[SQLiteRow]> = self.query(sql, binds)
        return try await rows.get()
    }

    /// Closes the connection, even when the calling task is cancelled.
    func closeUncancellable() async throws {
        let closed: EventLoopFuture<Void> = self.close()
        try await closed.get()
    }
}
