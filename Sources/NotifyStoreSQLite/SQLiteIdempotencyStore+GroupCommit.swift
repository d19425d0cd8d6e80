import GRDB
import NIOConcurrencyHelpers
import NotifyStore

/// One store operation waiting for a group commit, and how to answer it.
struct SQLiteWriteJob: Sendable {
    let what: String
    let body: @Sendable (Database) throws -> any Sendable
    let continuation: CheckedContinuation<any Sendable, any Error>
}

/// What an arriving operation does once queued (or not).
enum WriteAdmission {
    /// The store is closing: answer `store.closed`.
    case refuse
    /// No drain is under way: schedule one.
    case schedule
    /// A drain is under way and will take the job.
    case wait
}

/// What the group commit's lock guards.
struct WriteState: Sendable {
    /// Operations not yet taken by a drain, in arrival order.
    var pending: [SQLiteWriteJob] = []
    /// A drain is scheduled on, or running on, the database queue.
    var draining = false
    /// `close()` began: no operation is accepted.
    var closed = false
    /// `close()` calls waiting for the drain to finish.
    var closeWaiters: [CheckedContinuation<Void, Never>] = []
}

extension SQLiteIdempotencyStore {
    /// At most this many operations share one transaction.
    static let maximumBatch = 256

    /// Group commit. Every operation queues its job; the one that finds no
    /// drain under way schedules one on the database's serial queue (the only
    /// hand-off between threads). The drain runs *every* queued job — those
    /// that arrive while it commits included — in batches, each one
    /// `BEGIN IMMEDIATE … COMMIT`, and answers each job of a batch after its
    /// commit. An operation waits for its answer without holding a thread.
    ///
    /// Durability is unchanged: no operation returns before the commit that
    /// holds its writes is durable (`synchronous = FULL`: fsynced), so a claim
    /// is on disk before its call is placed. What batching changes is the
    /// number of commits (one fsync per batch, not per operation).
    ///
    /// A job that throws rolls the whole batch back; then each job of it runs
    /// again alone, so that one operation's failure (say `store.claim.lost`)
    /// is its own. A failed `BEGIN` or `COMMIT` fails every job of the batch
    /// with the (retriable) store error: none of their writes happened.
    ///
    /// Once queued, an operation runs to completion even when its task is
    /// cancelled: a cancelled caller can never leave the connection inside a
    /// transaction, or another operation's batch half done.
    func transaction<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StoreError) -> T {
        let answer: any Sendable
        do {
            answer = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
                let job = SQLiteWriteJob(what: what, body: { db in try body(db) }, continuation: continuation)
                let action: WriteAdmission = self.writes.withLockedValue { state in
                    if state.closed { return .refuse }
                    state.pending.append(job)
                    if state.draining { return .wait }
                    state.draining = true
                    return .schedule
                }
                switch action {
                case .refuse:
                    continuation.resume(throwing: StoreError.closed())
                case .schedule:
                    self.database.asyncWriteWithoutTransaction { db in self.drain(db) }
                case .wait:
                    break
                }
            }
        } catch {
            throw SQLiteRecordCodec.storeError(error, doing: what)
        }
        guard let value = answer as? T else {
            throw .internal("\(what): the batch answered with an unexpected value")
        }
        return value
    }

    /// Refuses new operations and waits until the queued ones are answered.
    func closeWrites() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle: Bool = self.writes.withLockedValue { state in
                state.closed = true
                if state.draining {
                    state.closeWaiters.append(continuation)
                    return false
                }
                return true
            }
            if idle { continuation.resume() }
        }
    }

    /// Runs on the database queue: commits batches until none is queued.
    private func drain(_ db: Database) {
        while true {
            let next: (batch: [SQLiteWriteJob], waiters: [CheckedContinuation<Void, Never>]) = self.writes.withLockedValue { state in
                if state.pending.isEmpty {
                    state.draining = false
                    defer { state.closeWaiters = [] }
                    return ([], state.closeWaiters)
                }
                let count = min(Self.maximumBatch, state.pending.count)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return (batch, [])
            }
            guard !next.batch.isEmpty else {
                for waiter in next.waiters { waiter.resume() }
                return
            }
            self.commit(next.batch, db)
        }
    }

    /// Runs `jobs` in one transaction and answers each.
    private func commit(_ jobs: [SQLiteWriteJob], _ db: Database) {
        var values: [any Sendable] = []
        values.reserveCapacity(jobs.count)
        var failedInJob = false
        do {
            try db.inTransaction(.immediate) {
                for job in jobs {
                    do {
                        values.append(try job.body(db))
                    } catch {
                        failedInJob = true
                        throw error
                    }
                }
                return .commit
            }
        } catch {
            guard failedInJob, jobs.count > 1 else {
                let what = jobs.count == 1 ? jobs[0].what : "a batch of \(jobs.count) operations"
                let failure = SQLiteRecordCodec.storeError(error, doing: what)
                for job in jobs { job.continuation.resume(throwing: failure) }
                return
            }
            // Whose failure was it? Each alone, in order.
            for job in jobs {
                self.commit([job], db)
            }
            return
        }
        for (job, value) in zip(jobs, values) {
            job.continuation.resume(returning: value)
        }
    }
}
