import NIOConcurrencyHelpers
import NotifyCore

/// Where the dispatch machine's actions wait for the dispatch loop
/// (issue 25). Unlike an `AsyncStream`, whose loop takes one element at a
/// time, ``next()`` hands over everything posted since the last call, so the
/// loop sees together what arrived together and can start one batch task for
/// it (``DispatchMachine/coalesced(_:)``) instead of a task per action.
///
/// One consumer (the loop) calls ``next()``; any task may ``post(_:)``.
/// After ``finish()``, ``next()`` hands over what is left, then `nil`.
final class ActionMailbox: Sendable {
    private struct State: Sendable {
        var pending: [DispatchMachine.Action] = []
        var waiter: CheckedContinuation<[DispatchMachine.Action]?, Never>?
        var finished = false
    }

    private let state = NIOLockedValueBox(State())

    /// Queues `actions` for the loop (ignored once finished).
    func post(_ actions: [DispatchMachine.Action]) {
        guard !actions.isEmpty else { return }
        let waiter: CheckedContinuation<[DispatchMachine.Action]?, Never>? = self.state.withLockedValue { state in
            guard !state.finished else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending += actions
            return nil
        }
        waiter?.resume(returning: actions)
    }

    /// Ends the mailbox: the loop gets what is queued, then `nil`.
    func finish() {
        let waiter: CheckedContinuation<[DispatchMachine.Action]?, Never>? = self.state.withLockedValue { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Everything posted since the last call, waiting for a post if there is
    /// none; `nil` once finished and empty, or when the calling task is
    /// cancelled (as an `AsyncStream`'s iterator ends).
    func next() async -> [DispatchMachine.Action]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[DispatchMachine.Action]?, Never>) in
                let ready: [DispatchMachine.Action]?? = self.state.withLockedValue { state in
                    if !state.pending.isEmpty {
                        defer { state.pending = [] }
                        return .some(state.pending)
                    }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = self.state.withLockedValue { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}
