import NIOConcurrencyHelpers

/// A counting semaphore for async code: at most `limit` holders at once, waiters
/// served first come, first served; a cancelled waiter leaves the queue at once.
final class ConcurrencyLimiter: Sendable {
    private struct State {
        var available: Int
        var nextID: UInt64 = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private let state: NIOLockedValueBox<State>

    init(limit: Int) {
        precondition(limit > 0, "limit must be positive")
        self.state = NIOLockedValueBox(State(available: limit))
    }

    /// Runs `body` while holding one slot.
    func withPermit<T>(_ body: () async throws -> T) async throws -> T {
        try await self.acquire()
        defer { self.release() }
        return try await body()
    }

    func acquire() async throws {
        let id: UInt64? = self.state.withLockedValue { state in
            if state.available > 0, state.waiters.isEmpty {
                state.available -= 1
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Result<Void, any Error>? = self.state.withLockedValue { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.available > 0, state.waiters.isEmpty {
                        state.available -= 1
                        return .success(())
                    }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let resumeNow { continuation.resume(with: resumeNow) }
            }
        } onCancel: {
            let removed = self.state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            removed?.resume(throwing: CancellationError())
        }
    }

    func release() {
        let next = self.state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume()
    }
}
