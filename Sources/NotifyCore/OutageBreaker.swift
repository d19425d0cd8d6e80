public import Foundation

/// AICC outage detection (product §4: "many consecutive transient failures: the
/// worker stops taking new work (pauses its partitions) instead of burning
/// through the topic and failing every request, probes AICC, and resumes when it
/// answers"; refused credentials are treated like an outage).
///
/// A pure state machine: inputs are what AICC answered, outputs are
/// ``Action``s the worker performs.
///
/// - Closed: counts consecutive transient failures; any success resets the
///   count. At ``threshold`` (default 5) it opens: ``Action/pauseAll`` and
///   ``Action/scheduleProbe(at:)``.
/// - ``credentialsRefused(now:)`` opens it at once, whatever the count.
/// - Open (half-open probing): the probe must prove what failed. When the probe
///   timer fires (``probeTimerFired(now:)``):
///   - open for consecutive failures, the worker lets one call through as the
///     trial (``Action/sendTrial``): the next due retry of a pending request,
///     a call that request was due to make anyway. Nothing else goes to the
///     create endpoint; other pending retries wait without spending attempts.
///     Its answer comes back through ``trialAnswered(_:now:)``. With no retry
///     pending, the worker falls back to a token probe (``trialUnavailable()``).
///   - open for refused credentials, it sends a token fetch
///     (``Action/sendProbe``): that is what failed.
///   A probe or trial success (or any success of a call still in flight)
///   closes it: ``Action/resumeAll``. A failure schedules the next probe after
///   a doubled interval, ``probeInitialInterval`` (default 1 s) up to
///   ``probeMaxInterval`` (default 30 s), no jitter (one probe per process).
/// - Failures reported while open (calls that were in flight) change nothing.
public struct OutageBreaker: Sendable, Hashable {
    /// What the worker does.
    public enum Action: Sendable, Hashable {
        /// Pause every assigned partition (stop taking new work); report not ready.
        case pauseAll
        /// Fire ``OutageBreaker/probeTimerFired(now:)`` at this instant.
        case scheduleProbe(at: Date)
        /// Send one probe (a token fetch) now and report its answer through
        /// ``OutageBreaker/probeAnswered(success:now:)``.
        case sendProbe
        /// Let one due call through as the trial and report its answer
        /// through ``OutageBreaker/trialAnswered(_:now:)`` (or, when no call
        /// is due, ``OutageBreaker/trialUnavailable()``).
        case sendTrial
        /// Resume every partition paused for the outage; report ready.
        case resumeAll
    }

    /// Why the breaker is open.
    public enum OpenReason: Sendable, Hashable {
        /// ``OutageBreaker/threshold`` consecutive transient failures.
        case consecutiveFailures
        /// AICC refused the credentials (`aicc.auth.credentials`).
        case credentialsRefused
    }

    /// The breaker's state.
    public enum State: Sendable, Hashable {
        /// Work flows; the count of consecutive transient failures.
        case closed(consecutiveFailures: Int)
        /// Paused; `probes` failed so far; `probeInFlight` while a probe is out.
        case open(reason: OpenReason, failedProbes: Int, probeInFlight: Bool)
    }

    /// Consecutive transient failures that open the breaker (default 5).
    public let threshold: Int
    /// Delay before the first probe (default 1 s).
    public let probeInitialInterval: TimeInterval
    /// Upper bound of the delay between probes (default 30 s).
    public let probeMaxInterval: TimeInterval

    /// The current state.
    public private(set) var state: State = .closed(consecutiveFailures: 0)

    /// Creates a closed breaker. `threshold` is at least 1.
    public init(threshold: Int = 5, probeInitialInterval: TimeInterval = 1, probeMaxInterval: TimeInterval = 30) {
        self.threshold = Swift.max(1, threshold)
        self.probeInitialInterval = Swift.max(0, probeInitialInterval)
        self.probeMaxInterval = Swift.max(self.probeInitialInterval, probeMaxInterval)
    }

    /// Whether work is paused for an outage (the worker reports not ready).
    public var isOpen: Bool {
        if case .open = state { return true }
        return false
    }

    /// The delay before the probe that follows `failedProbes` failed ones.
    public func probeDelay(afterFailedProbes failedProbes: Int) -> TimeInterval {
        let exponent = Swift.min(Swift.max(failedProbes, 0), 62)
        return Swift.min(probeMaxInterval, probeInitialInterval * Double(UInt64(1) << UInt64(exponent)))
    }

    /// AICC answered (accepted, or a permanent refusal: it is up either way).
    public mutating func success(now: Date) -> [Action] {
        switch state {
        case .closed:
            state = .closed(consecutiveFailures: 0)
            return []
        case .open(reason: .credentialsRefused, _, _):
            // A call in flight since before the refusal proves nothing about
            // the credentials; only a probe (a token fetch) does.
            return []
        case .open(reason: .consecutiveFailures, _, _):
            state = .closed(consecutiveFailures: 0)
            return [.resumeAll]
        }
    }

    /// A call failed transiently (or is in doubt: no answer).
    public mutating func transientFailure(now: Date) -> [Action] {
        switch state {
        case .closed(let failures):
            let count = failures + 1
            guard count >= threshold else {
                state = .closed(consecutiveFailures: count)
                return []
            }
            return open(.consecutiveFailures, now: now)
        case .open:
            return []
        }
    }

    /// AICC refused the credentials: open at once.
    public mutating func credentialsRefused(now: Date) -> [Action] {
        switch state {
        case .closed:
            return open(.credentialsRefused, now: now)
        case .open(_, let failedProbes, let probeInFlight):
            state = .open(reason: .credentialsRefused, failedProbes: failedProbes, probeInFlight: probeInFlight)
            return []
        }
    }

    /// The probe timer fired: a trial call (open for failures) or a token
    /// probe (open for refused credentials), unless one is out or the breaker closed.
    public mutating func probeTimerFired(now: Date) -> [Action] {
        guard case .open(let reason, let failedProbes, false) = state else { return [] }
        state = .open(reason: reason, failedProbes: failedProbes, probeInFlight: true)
        return reason == .consecutiveFailures ? [.sendTrial] : [.sendProbe]
    }

    /// What the trial call got.
    public enum TrialAnswer: Sendable, Hashable {
        /// AICC answered (accepted, or a permanent refusal): it is up.
        case answered
        /// Transient or in doubt: still out.
        case failed
        /// `tokenByAkSk` refused the credentials before the call.
        case credentialsRefused
        /// The trial ended without reaching AICC (its deadline passed, its
        /// claim was lost, its partition was revoked).
        case noCall
    }

    /// The trial call answered.
    public mutating func trialAnswered(_ answer: TrialAnswer, now: Date) -> [Action] {
        guard case .open(let reason, let failedProbes, true) = state else { return [] }
        switch answer {
        case .answered:
            state = .closed(consecutiveFailures: 0)
            return [.resumeAll]
        case .failed, .credentialsRefused, .noCall:
            let nextReason: OpenReason = answer == .credentialsRefused ? .credentialsRefused : reason
            state = .open(reason: nextReason, failedProbes: failedProbes + 1, probeInFlight: false)
            return [.scheduleProbe(at: now.addingTimeInterval(probeDelay(afterFailedProbes: failedProbes + 1)))]
        }
    }

    /// No call is due to serve as the trial: probe with a token fetch instead
    /// (nothing pending can be wasted on a create endpoint that is still out).
    public mutating func trialUnavailable() -> [Action] {
        guard case .open(_, _, true) = state else { return [] }
        return [.sendProbe]
    }

    /// The probe got its answer: `true` when AICC answered and took the credentials.
    public mutating func probeAnswered(success: Bool, now: Date) -> [Action] {
        guard case .open(let reason, let failedProbes, true) = state else { return [] }
        if success {
            state = .closed(consecutiveFailures: 0)
            return [.resumeAll]
        }
        state = .open(reason: reason, failedProbes: failedProbes + 1, probeInFlight: false)
        return [.scheduleProbe(at: now.addingTimeInterval(probeDelay(afterFailedProbes: failedProbes + 1)))]
    }

    private mutating func open(_ reason: OpenReason, now: Date) -> [Action] {
        state = .open(reason: reason, failedProbes: 0, probeInFlight: false)
        return [.pauseAll, .scheduleProbe(at: now.addingTimeInterval(probeDelay(afterFailedProbes: 0)))]
    }
}
