import NIOConcurrencyHelpers
import SQLiteNIO

/// One store operation waiting to be run inside a group commit.
final class SQLiteBatchJob: Sendable {
    let what: String
    let body: @Sendable (SQLiteConnection) async throws -> any Sendable
    private let outcome = NIOLockedValueBox<Result<any Sendable, StoreError>?>(nil)

    init(what: String, body: @escaping @Sendable (SQLiteConnection) async throws -> any Sendable) {
        self.what = what
        self.body = body
    }

    /// The answer, once the job's transaction committed (or failed).
    var result: Result<any Sendable, StoreError>? { self.outcome.withLockedValue { $0 } }

    func finish(_ result: Result<any Sendable, StoreError>) {
        self.outcome.withLockedValue { $0 = result }
    }
}

extension SQLiteIdempotencyStore {
    /// At most this many operations share one transaction.
    static let maximumBatch = 256

    /// Group commit. Every operation queues its job, then waits for the
    /// connection (a FIFO gate). Whoever holds the gate runs *every* queued
    /// job — its own and those of the operations waiting behind it — as one
    /// `BEGIN IMMEDIATE … COMMIT`, and only then answers them; an operation
    /// that finds its job answered when its turn comes just returns.
    ///
    /// Durability is unchanged: no operation returns before the commit that
    /// holds its writes is durable (`synchronous = FULL`: fsynced), so a claim
    /// is on disk before its call is placed. What changes is the number of
    /// commits (one fsync per batch, not per operation) and of statements
    /// (one `BEGIN`/`COMMIT` pair per batch). Alone, an operation is a batch
    /// of one and waits for nobody.
    ///
    /// A job that throws rolls the whole batch back; then each job of it runs
    /// again alone, so that one operation's failure (say `store.claim.lost`)
    /// is its own. A failed `COMMIT` fails every job of the batch with the
    /// (retriable) store error: none of their writes happened.
    func transaction<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (SQLiteConnection) async throws -> T
    ) async throws(StoreError) -> T {
        let job = SQLiteBatchJob(what: what) { connection in try await body(connection) }
        self.queue.withLockedValue { $0.append(job) }
        await self.gate.acquire()
        while job.result == nil {
            let batch: [SQLiteBatchJob] = self.queue.withLockedValue { queue in
                let batch = Array(queue.prefix(Self.maximumBatch))
                queue.removeFirst(batch.count)
                return batch
            }
            await self.commit(batch)
        }
        self.gate.release()
        switch job.result {
        case .success(let value as T):
            return value
        case .failure(let error):
            throw error
        default:
            throw .internal("\(what): the batch answered with an unexpected value")
        }
    }

    /// Runs `jobs` in one transaction and answers each (the gate is held).
    private func commit(_ jobs: [SQLiteBatchJob]) async {
        guard !jobs.isEmpty else { return }
        guard let connection = self.openConnection else {
            for job in jobs { job.finish(.failure(.closed())) }
            return
        }
        let what = jobs.count == 1 ? jobs[0].what : "a batch of \(jobs.count) operations"
        do {
            _ = try await connection.execute("BEGIN IMMEDIATE")
        } catch {
            let failure = SQLiteRecordCodec.storeError(error, doing: what)
            for job in jobs { job.finish(.failure(failure)) }
            return
        }
        var values: [any Sendable] = []
        values.reserveCapacity(jobs.count)
        do {
            for job in jobs {
                values.append(try await job.body(connection))
            }
        } catch {
            _ = try? await connection.execute("ROLLBACK")
            if jobs.count == 1 {
                jobs[0].finish(.failure(SQLiteRecordCodec.storeError(error, doing: jobs[0].what)))
                return
            }
            // Whose failure was it? Each alone, in order.
            for job in jobs {
                await self.commit([job])
            }
            return
        }
        do {
            _ = try await connection.execute("COMMIT")
        } catch {
            _ = try? await connection.execute("ROLLBACK")
            let failure = SQLiteRecordCodec.storeError(error, doing: what)
            for job in jobs { job.finish(.failure(failure)) }
            return
        }
        for (job, value) in zip(jobs, values) {
            job.finish(.success(value))
        }
    }
}
