import Foundation
import NotifyCore
import Testing

@Suite struct OutageBreakerTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func opensAtThresholdOfConsecutiveFailuresOnly() {
        var breaker = OutageBreaker(threshold: 3)
        let r35 = breaker.transientFailure(now: t0)
        #expect(r35.isEmpty)
        let r36 = breaker.transientFailure(now: t0)
        #expect(r36.isEmpty)
        let r37 = breaker.success(now: t0)
        #expect(r37.isEmpty)  // resets
        #expect(breaker.state == .closed(consecutiveFailures: 0))
        let r38 = breaker.transientFailure(now: t0)
        #expect(r38.isEmpty)
        let r39 = breaker.transientFailure(now: t0)
        #expect(r39.isEmpty)
        #expect(!breaker.isOpen)
        let r40 = breaker.transientFailure(now: t0)
        #expect(r40 == [.pauseAll, .scheduleProbe(at: t0 + 1)])
        #expect(breaker.isOpen)
        let r41 = breaker.transientFailure(now: t0)
        #expect(r41.isEmpty)  // in-flight failures while open
    }

    @Test func trialsBackOffAndASuccessResumes() {
        var breaker = OutageBreaker(threshold: 1, probeInitialInterval: 1, probeMaxInterval: 5)
        let r42 = breaker.transientFailure(now: t0)
        #expect(r42 == [.pauseAll, .scheduleProbe(at: t0 + 1)])
        let r43 = breaker.trialAnswered(.answered, now: t0)
        #expect(r43.isEmpty)  // no trial out: ignored
        let r44 = breaker.probeTimerFired(now: t0 + 1)
        #expect(r44 == [.sendTrial])  // open for failures: a due call is the trial, not a token fetch
        let r45 = breaker.probeTimerFired(now: t0 + 1)
        #expect(r45.isEmpty)  // one trial at a time
        let r46 = breaker.trialAnswered(.failed, now: t0 + 2)
        #expect(r46 == [.scheduleProbe(at: t0 + 4)])
        let r47 = breaker.probeTimerFired(now: t0 + 4)
        #expect(r47 == [.sendTrial])
        let r48 = breaker.trialAnswered(.noCall, now: t0 + 4)
        #expect(r48 == [.scheduleProbe(at: t0 + 8)])
        let r49 = breaker.probeTimerFired(now: t0 + 8)
        #expect(r49 == [.sendTrial])
        let r50 = breaker.trialAnswered(.failed, now: t0 + 8)
        #expect(r50 == [.scheduleProbe(at: t0 + 13)])  // capped at 5
        #expect(breaker.state == .open(reason: .consecutiveFailures, failedProbes: 3, probeInFlight: false))
        let r51 = breaker.probeTimerFired(now: t0 + 13)
        #expect(r51 == [.sendTrial])
        let r52 = breaker.trialAnswered(.answered, now: t0 + 13)
        #expect(r52 == [.resumeAll])
        #expect(breaker.state == .closed(consecutiveFailures: 0))
        let r53 = breaker.probeTimerFired(now: t0 + 20)
        #expect(r53.isEmpty)  // stale timer
    }

    @Test func withNoCallDueTheTrialFallsBackToATokenProbe() {
        var breaker = OutageBreaker(threshold: 1)
        _ = breaker.transientFailure(now: t0)
        #expect(breaker.trialUnavailable().isEmpty)  // nothing out: ignored
        #expect(breaker.probeTimerFired(now: t0 + 1) == [.sendTrial])
        #expect(breaker.trialUnavailable() == [.sendProbe])
        #expect(breaker.probeAnswered(success: false, now: t0 + 1) == [.scheduleProbe(at: t0 + 3)])
        #expect(breaker.probeTimerFired(now: t0 + 3) == [.sendTrial])
        #expect(breaker.trialUnavailable() == [.sendProbe])
        #expect(breaker.probeAnswered(success: true, now: t0 + 3) == [.resumeAll])
    }

    @Test func aTrialRefusedForCredentialsSwitchesToTokenProbes() {
        var breaker = OutageBreaker(threshold: 1)
        _ = breaker.transientFailure(now: t0)
        _ = breaker.probeTimerFired(now: t0 + 1)
        #expect(breaker.trialAnswered(.credentialsRefused, now: t0 + 1) == [.scheduleProbe(at: t0 + 3)])
        #expect(breaker.state == .open(reason: .credentialsRefused, failedProbes: 1, probeInFlight: false))
        #expect(breaker.probeTimerFired(now: t0 + 3) == [.sendProbe])
    }

    @Test func aLateSuccessOfAnInFlightCallResumes() {
        var breaker = OutageBreaker(threshold: 2)
        _ = breaker.transientFailure(now: t0)
        let r54 = breaker.transientFailure(now: t0)
        #expect(r54.first == .pauseAll)
        let r55 = breaker.success(now: t0)
        #expect(r55 == [.resumeAll])
        #expect(!breaker.isOpen)
    }

    @Test func refusedCredentialsOpenAtOnceAndOnlyAProbeCloses() {
        var breaker = OutageBreaker()
        #expect(breaker.threshold == 5)
        let r56 = breaker.credentialsRefused(now: t0)
        #expect(r56 == [.pauseAll, .scheduleProbe(at: t0 + 1)])
        #expect(breaker.state == .open(reason: .credentialsRefused, failedProbes: 0, probeInFlight: false))
        let r57 = breaker.success(now: t0)
        #expect(r57.isEmpty)  // a call from before proves nothing
        #expect(breaker.isOpen)
        let r58 = breaker.probeTimerFired(now: t0 + 1)
        #expect(r58 == [.sendProbe])
        let r59 = breaker.probeAnswered(success: true, now: t0 + 1)
        #expect(r59 == [.resumeAll])
    }

    @Test func refusedCredentialsWhileOpenChangeTheReason() {
        var breaker = OutageBreaker(threshold: 1)
        _ = breaker.transientFailure(now: t0)
        let r60 = breaker.credentialsRefused(now: t0)
        #expect(r60.isEmpty)
        #expect(breaker.state == .open(reason: .credentialsRefused, failedProbes: 0, probeInFlight: false))
    }
}
