public import Foundation

/// When to try a transiently failed AICC call again (product §4: exponential
/// backoff with jitter, up to a maximum number of attempts, never past
/// `expiresAt`).
///
/// **Jitter: full jitter.** The delay before attempt *n + 1* is
/// `randomUnit × min(maxBackoff, initialBackoff × 2^(n−1))`, uniform in
/// `[0, cap]`. Full jitter spreads a herd of keys that failed together (an AICC
/// blip fails every in-flight call at once) over the whole window, which is what
/// keeps retries from arriving in waves; it is also stateless (the delay depends
/// on the attempt number alone), so nothing but the attempt count has to be
/// stored per record. Decorrelated jitter would need the previous delay.
///
/// The random number is a parameter so that tests are deterministic; the worker
/// passes `Double.random(in: 0..<1)`.
public struct RetryPolicy: Sendable, Hashable {
    /// Why no further attempt is made.
    public enum GiveUpReason: Sendable, Hashable {
        /// ``maxAttempts`` calls were made: the outcome is `failed`.
        case attemptsExhausted
        /// The next attempt would land after `expiresAt`: the outcome is
        /// `expired` with code ``DispatchErrorCode/deadline``.
        case deadline

        /// The result outcome this reason leads to.
        public var outcome: NotificationResult.Outcome {
            switch self {
            case .attemptsExhausted: .failed
            case .deadline: .expired
            }
        }
    }

    /// What to do after a transient failure.
    public enum Decision: Sendable, Hashable {
        /// Call again at this instant.
        case retry(at: Date)
        /// Stop; see the reason.
        case giveUp(GiveUpReason)
    }

    /// Seconds before the second attempt at most (`retry.initialBackoff`, default 1).
    public var initialBackoff: TimeInterval
    /// Upper bound of any delay, in seconds (`retry.maxBackoff`, default 60).
    public var maxBackoff: TimeInterval
    /// AICC create calls per request, the first included (`retry.maxAttempts`, default 8).
    public var maxAttempts: Int

    /// Creates a policy. Values are normalized, never rejected (configuration
    /// loading validates them): `maxAttempts` at least 1, `initialBackoff` at
    /// least 0, `maxBackoff` at least `initialBackoff`.
    public init(initialBackoff: TimeInterval = 1, maxBackoff: TimeInterval = 60, maxAttempts: Int = 8) {
        let initial = initialBackoff.isFinite ? Swift.max(0, initialBackoff) : 1
        self.initialBackoff = initial
        self.maxBackoff = maxBackoff.isFinite ? Swift.max(initial, maxBackoff) : Swift.max(initial, 60)
        self.maxAttempts = Swift.max(1, maxAttempts)
    }

    /// The upper bound of the delay after attempt `attempt` (1-based):
    /// `min(maxBackoff, initialBackoff × 2^(attempt−1))`.
    public func cap(afterAttempt attempt: Int) -> TimeInterval {
        let exponent = Swift.min(Swift.max(attempt - 1, 0), 62)
        return Swift.min(maxBackoff, initialBackoff * Double(UInt64(1) << UInt64(exponent)))
    }

    /// Decides after attempt number `attempt` (1-based) failed transiently at `now`.
    ///
    /// - Parameters:
    ///   - attempt: the attempts made so far (the one that just failed included).
    ///   - now: the current time (the caller reads the clock).
    ///   - expiresAt: the request's deadline, if any.
    ///   - randomUnit: a random number in `[0, 1)`; values outside are clamped.
    /// - Returns: `.giveUp(.attemptsExhausted)` when `attempt >= maxAttempts`;
    ///   else `.giveUp(.deadline)` when the retry instant would be after
    ///   `expiresAt` (or `now` already is); else `.retry(at:)` with
    ///   `now ≤ at ≤ now + cap` and `at ≤ expiresAt`.
    public func next(afterAttempt attempt: Int, now: Date, expiresAt: Date?, randomUnit: Double) -> Decision {
        if attempt >= maxAttempts { return .giveUp(.attemptsExhausted) }
        let unit = randomUnit.isNaN ? 0 : Swift.min(Swift.max(randomUnit, 0), 1)
        let at = now.addingTimeInterval(unit * cap(afterAttempt: attempt))
        if let expiresAt, at > expiresAt { return .giveUp(.deadline) }
        return .retry(at: at)
    }
}

/// Error codes the dispatch core itself produces (stable, dotted; used verbatim
/// in result events, logs and metric labels).
public enum DispatchErrorCode {
    /// `expiresAt` passed before a call was placed (outcome `expired`).
    public static let deadline = "dispatch.deadline"
    /// A create request was sent and no answer came back; the in-doubt policy is
    /// `report` (outcome `indeterminate`) unless the call answer carried its own code.
    public static let inDoubt = "dispatch.in_doubt"
    /// A claim in the store is in doubt (its owner is gone without recording an answer).
    public static let claimInDoubt = "dispatch.claim_in_doubt"
    /// The idempotency key was reused with a different fingerprint (outcome `rejected`).
    public static let idempotencyConflict = "idempotency.conflict"
    /// The credentials were refused (an outage, never a request outcome).
    public static let credentials = "aicc.auth.credentials"
    /// Over the called number's storm budget (outcome `suppressed`, product §10).
    public static let storm = "dispatch.storm"
}
