import NIOConcurrencyHelpers

/// A token bucket written as the generic cell rate algorithm: each caller reserves
/// the next start time under a lock and sleeps until it, so no waiter queue is
/// needed and callers start in the order they asked. Over any interval `T`, at
/// most `burst + rate × T` callers start.
final class RateLimiter: Sendable {
    private let interval: Duration
    private let tolerance: Duration
    /// The theoretical arrival time of the next caller.
    private let nextTime: NIOLockedValueBox<ContinuousClock.Instant?>

    init(ratePerSecond: Double, burst: Int) {
        precondition(ratePerSecond > 0, "rate must be positive")
        let interval = Duration.nanoseconds(Int64((1_000_000_000 / ratePerSecond).rounded(.up)))
        self.interval = interval
        self.tolerance = interval * max(0, burst - 1)
        self.nextTime = NIOLockedValueBox(nil)
    }

    /// Waits until the caller may start. Throws `CancellationError` when cancelled while waiting.
    func acquire() async throws {
        let now = ContinuousClock.now
        let startAt: ContinuousClock.Instant = self.nextTime.withLockedValue { next in
            let theoretical = max(next ?? now, now)
            let allowed = theoretical - self.tolerance
            next = theoretical + self.interval
            return max(allowed, now)
        }
        if startAt > now {
            try await Task.sleep(until: startAt, clock: .continuous)
        }
    }
}
