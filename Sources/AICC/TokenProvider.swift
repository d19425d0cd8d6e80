import Logging
import NIOConcurrencyHelpers

/// A bearer token from `tokenByAkSk` and when to stop using it.
struct AccessToken: Sendable, Equatable {
    var value: String
    /// When the request for it was sent (local monotonic clock).
    var issuedAt: ContinuousClock.Instant
    /// The end of the granted lifetime, on the local monotonic clock (measured from
    /// the moment the request was sent, so it errs on the early side).
    var expiresAt: ContinuousClock.Instant
    /// From this moment one caller fetches a new token while others keep using this one.
    var refreshAt: ContinuousClock.Instant
}

/// Caches the AICC token and collapses concurrent refreshes into one.
///
/// A lock-protected state machine rather than a `Task` held in an actor: the caller
/// that finds no usable token becomes the *leader* and fetches it in its own task;
/// callers arriving meanwhile wait on continuations and are resumed with the
/// leader's result. While a token is in its refresh margin but still valid, only
/// the leader waits for the refresh; everyone else keeps using the old token. If
/// the leader is cancelled, waiters loop and one of them leads a new fetch.
final class TokenProvider: Sendable {
    typealias Fetch = @Sendable (Logger) async throws -> AccessToken

    private enum WaitResult: Sendable {
        case token(AccessToken)
        case failure(any Error)
        case retry
    }

    private struct State {
        var token: AccessToken?
        var fetching = false
        var nextWaiterID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<WaitResult, Never>] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let fetch: Fetch

    init(fetch: @escaping Fetch) {
        self.fetch = fetch
    }

    /// A token that is valid now, fetching one if needed.
    ///
    /// - Parameter issuedAfter: Only a token requested at or after this moment
    ///   will do: after AICC refused a token (HTTP 401), the retry must not be
    ///   handed another token as old as the one refused — AICC's `Expires` is
    ///   in whole seconds and tokens may end early, so a cached token that
    ///   looks valid may be dead too. Default: any valid token.
    func token(logger: Logger, issuedAfter: ContinuousClock.Instant? = nil) async throws -> AccessToken {
        while true {
            let now = ContinuousClock.now
            enum Action { case use(AccessToken), lead, wait(UInt64) }
            let action: Action = self.state.withLockedValue { state in
                if let token = state.token, now < token.expiresAt, token.issuedAt >= (issuedAfter ?? token.issuedAt) {
                    if now < token.refreshAt || state.fetching { return .use(token) }
                    state.fetching = true
                    return .lead
                }
                if state.fetching {
                    state.nextWaiterID += 1
                    return .wait(state.nextWaiterID)
                }
                state.fetching = true
                return .lead
            }

            switch action {
            case .use(let token):
                return token

            case .lead:
                do {
                    let token = try await self.fetch(logger)
                    self.finishFetch(.token(token))
                    return token
                } catch {
                    if Task.isCancelled {
                        self.finishFetch(.retry)
                        throw error
                    }
                    self.finishFetch(.failure(error))
                    // A refresh ahead of expiry failed: the old token is still good.
                    if let old = self.state.withLockedValue({ $0.token }), ContinuousClock.now < old.expiresAt {
                        logger.warning("AICC token refresh failed; using the current token until it expires", metadata: ["error": "\(error)"])
                        return old
                    }
                    throw error
                }

            case .wait(let id):
                let result = await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<WaitResult, Never>) in
                        let immediate: WaitResult? = self.state.withLockedValue { state in
                            if Task.isCancelled { return .failure(CancellationError()) }
                            guard state.fetching else { return .retry }
                            state.waiters[id] = continuation
                            return nil
                        }
                        if let immediate { continuation.resume(returning: immediate) }
                    }
                } onCancel: {
                    let waiter = self.state.withLockedValue { $0.waiters.removeValue(forKey: id) }
                    waiter?.resume(returning: .failure(CancellationError()))
                }
                switch result {
                case .token(let token):
                    if let issuedAfter, token.issuedAt < issuedAfter { continue }  // a fetch begun before: not fresh enough
                    return token
                case .failure(let error): throw error
                case .retry: continue
                }
            }
        }
    }

    /// Forgets `token` after AICC refused it (HTTP 401), unless a newer one replaced it already.
    func invalidate(_ token: AccessToken) {
        self.state.withLockedValue { state in
            if state.token == token { state.token = nil }
        }
    }

    /// Caches `token` (fetched outside the single-flight path, e.g. by a probe).
    func replace(with token: AccessToken) {
        self.state.withLockedValue { $0.token = token }
    }

    private func finishFetch(_ result: WaitResult) {
        let waiters = self.state.withLockedValue { state in
            state.fetching = false
            if case .token(let token) = result { state.token = token }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }
}
