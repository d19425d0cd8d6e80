import Foundation
import NotifyCore
import Testing

@Suite struct RetryPolicyTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func defaultsAreTheConfiguredOnes() {
        let policy = RetryPolicy()
        #expect(policy.initialBackoff == 1)
        #expect(policy.maxBackoff == 60)
        #expect(policy.maxAttempts == 8)
        #expect((1...8).map { policy.cap(afterAttempt: $0) } == [1, 2, 4, 8, 16, 32, 60, 60])
        #expect(policy.cap(afterAttempt: 10_000) == 60)
    }

    @Test func fullJitterScalesTheCap() {
        let policy = RetryPolicy()
        #expect(policy.next(afterAttempt: 3, now: now, expiresAt: nil, randomUnit: 0) == .retry(at: now))
        #expect(policy.next(afterAttempt: 3, now: now, expiresAt: nil, randomUnit: 0.5) == .retry(at: now + 2))
        #expect(policy.next(afterAttempt: 7, now: now, expiresAt: nil, randomUnit: 0.25) == .retry(at: now + 15))
        // Out-of-range random numbers are clamped into [0, 1].
        #expect(policy.next(afterAttempt: 1, now: now, expiresAt: nil, randomUnit: 7) == .retry(at: now + 1))
        #expect(policy.next(afterAttempt: 1, now: now, expiresAt: nil, randomUnit: -1) == .retry(at: now))
        #expect(policy.next(afterAttempt: 1, now: now, expiresAt: nil, randomUnit: .nan) == .retry(at: now))
    }

    @Test func attemptsExhaustedLeadsToFailed() {
        let policy = RetryPolicy(maxAttempts: 3)
        #expect(policy.next(afterAttempt: 2, now: now, expiresAt: nil, randomUnit: 0.5) != .giveUp(.attemptsExhausted))
        #expect(policy.next(afterAttempt: 3, now: now, expiresAt: nil, randomUnit: 0.5) == .giveUp(.attemptsExhausted))
        #expect(RetryPolicy.GiveUpReason.attemptsExhausted.outcome == .failed)
        #expect(RetryPolicy(maxAttempts: 1).next(afterAttempt: 1, now: now, expiresAt: nil, randomUnit: 0) == .giveUp(.attemptsExhausted))
    }

    @Test func neverSchedulesPastExpiresAt() {
        let policy = RetryPolicy()
        // Cap 4 s after attempt 3; deadline 3 s away.
        #expect(policy.next(afterAttempt: 3, now: now, expiresAt: now + 3, randomUnit: 0.5) == .retry(at: now + 2))
        #expect(policy.next(afterAttempt: 3, now: now, expiresAt: now + 3, randomUnit: 0.75) == .retry(at: now + 3))
        #expect(policy.next(afterAttempt: 3, now: now, expiresAt: now + 3, randomUnit: 0.8) == .giveUp(.deadline))
        #expect(policy.next(afterAttempt: 1, now: now, expiresAt: now - 1, randomUnit: 0) == .giveUp(.deadline))
        #expect(RetryPolicy.GiveUpReason.deadline.outcome == .expired)
        #expect(DispatchErrorCode.deadline == "dispatch.deadline")
    }

    @Test func normalizesNonsense() {
        let policy = RetryPolicy(initialBackoff: -3, maxBackoff: .infinity, maxAttempts: 0)
        #expect(policy.initialBackoff == 0)
        #expect(policy.maxBackoff == 60)
        #expect(policy.maxAttempts == 1)
        #expect(RetryPolicy(initialBackoff: 10, maxBackoff: 2).maxBackoff == 10)
    }

    /// Random attempts, deadlines and random numbers: every retry lies in
    /// `[now, now + cap] ∩ [now, expiresAt]`; giving up happens exactly when the
    /// rules say so.
    @Test(arguments: [11, 12, 13] as [UInt64])
    func scheduleBounds(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let policy = RetryPolicy(initialBackoff: 0.2, maxBackoff: 30, maxAttempts: 8)
        for _ in 0..<5000 {
            let attempt = Int.random(in: 1...10, using: &rng)
            let unit = Double.random(in: 0..<1, using: &rng)
            let expiresAt: Date? = Bool.random(using: &rng) ? now + Double.random(in: -5...40, using: &rng) : nil
            let cap = policy.cap(afterAttempt: attempt)
            #expect(cap >= 0 && cap <= 30)
            switch policy.next(afterAttempt: attempt, now: now, expiresAt: expiresAt, randomUnit: unit) {
            case .retry(let at):
                #expect(attempt < 8)
                #expect(at >= now && at <= now + cap)
                if let expiresAt { #expect(at <= expiresAt) }
            case .giveUp(.attemptsExhausted):
                #expect(attempt >= 8)
            case .giveUp(.deadline):
                #expect(attempt < 8)
                #expect(expiresAt != nil && now.addingTimeInterval(unit * cap) > expiresAt!)
            }
        }
    }
}
