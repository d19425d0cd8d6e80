import NIOConcurrencyHelpers
import NotifyStore

/// Gathers store operations that arrive together into one batch operation
/// (issue 25): claims into ``IdempotencyStore/claim(batch:)``, outcomes into
/// ``IdempotencyStore/recordOutcomes(_:)`` — on PostgreSQL one transaction of
/// a few round trips for the batch instead of one transaction per record.
///
/// Leader and followers, without a task of its own: an operation that finds
/// no batch under way runs one, its own first, with everything queued; it
/// answers each waiter and hands the lead to the first that queued meanwhile.
/// Nothing waits for a batch to fill: a lone operation goes at once, and a
/// batch is whatever arrived while the previous one was with the store (at
/// most ``maximumBatch``).
///
/// A store failure that fails the whole batch (`store.unavailable`, say) is
/// every waiter's answer; each caller retries on its own, as before.
final class StoreBatcher<Input: Sendable, Output: Sendable>: Sendable {
    typealias Answer = Result<Output, StoreError>

    private struct Waiter: Sendable {
        let input: Input
        let continuation: CheckedContinuation<Wake, Never>
    }

    /// How a queued caller is woken.
    private enum Wake: Sendable {
        /// Its batch ran: the answer.
        case answered(Answer)
        /// The batch it queued behind had ended: try again.
        case retry
        /// It leads the next batch, with what queued meanwhile.
        case lead
    }

    private struct State: Sendable {
        var pending: [Waiter] = []
        var running = false
    }

    /// At most this many operations share one batch.
    static var maximumBatch: Int { 256 }

    private let state = NIOLockedValueBox(State())
    private let operation: @Sendable ([Input]) async throws(StoreError) -> [Answer]

    /// `operation` answers a batch in order, one answer per input.
    init(_ operation: @escaping @Sendable ([Input]) async throws(StoreError) -> [Answer]) {
        self.operation = operation
    }

    /// Runs `input` in the next batch and returns its answer.
    func run(_ input: Input) async throws(StoreError) -> Output {
        while true {
            let leads = self.state.withLockedValue { state -> Bool in
                guard !state.running else { return false }
                state.running = true
                return true
            }
            if leads {
                return try await self.lead(input).get()
            }
            // Follow: wait in the queue of the batch under way. Should that
            // batch end between the check above and the queuing, try again.
            let wake: Wake = await withCheckedContinuation { (continuation: CheckedContinuation<Wake, Never>) in
                let queued = self.state.withLockedValue { state -> Bool in
                    guard state.running else { return false }
                    state.pending.append(Waiter(input: input, continuation: continuation))
                    return true
                }
                if !queued { continuation.resume(returning: .retry) }
            }
            switch wake {
            case .answered(let answer): return try answer.get()
            case .lead: return try await self.lead(input).get()
            case .retry: continue
            }
        }
    }

    /// Runs `inputs` — a batch one caller already holds — as one operation
    /// (in chunks of ``maximumBatch``); a single input joins the batches of
    /// ``run(_:)``. A held batch does not wait for, or join, a batch that
    /// ``run(_:)`` may be leading: the two go to the store side by side (both
    /// stores take concurrent batches), which costs a second transaction
    /// only when they meet. Throws the first failure (a batch operation fails
    /// or succeeds as a whole).
    func runAll(_ inputs: [Input]) async throws(StoreError) -> [Output] {
        if inputs.count == 1 { return [try await self.run(inputs[0])] }
        var outputs: [Output] = []
        outputs.reserveCapacity(inputs.count)
        var start = 0
        while start < inputs.count {
            let chunk = Array(inputs[start..<min(inputs.count, start + Self.maximumBatch)])
            let answers = try await self.operation(chunk)
            guard answers.count == chunk.count else {
                throw .internal("a batch answered \(answers.count) of \(chunk.count)")
            }
            for answer in answers { outputs.append(try answer.get()) }
            start += chunk.count
        }
        return outputs
    }

    /// Runs one batch, `own` first, answers its followers, and hands the
    /// lead to the first of those who queued meanwhile (so that no caller
    /// stays the store's errand-runner for long); returns `own`'s answer.
    private func lead(_ own: Input) async -> Answer {
        let batch: [Waiter] = self.state.withLockedValue { state in
            let count = min(Self.maximumBatch - 1, state.pending.count)
            defer { state.pending.removeFirst(count) }
            return Array(state.pending.prefix(count))
        }
        let inputs = [own] + batch.map(\.input)
        var answers: [Answer]
        do throws(StoreError) {
            answers = try await self.operation(inputs)
        } catch {
            answers = Array(repeating: .failure(error), count: inputs.count)
        }
        while answers.count < inputs.count {
            answers.append(.failure(.internal("a batch answered \(answers.count) of \(inputs.count)")))
        }
        for (waiter, answer) in zip(batch, answers.dropFirst()) {
            waiter.continuation.resume(returning: .answered(answer))
        }
        let next: Waiter? = self.state.withLockedValue { state in
            guard !state.pending.isEmpty else {
                state.running = false
                return nil
            }
            return state.pending.removeFirst()
        }
        next?.continuation.resume(returning: .lead)
        return answers[0]
    }
}
