import Foundation
import NotifyCore
import Testing

@Suite struct DispatchMachineTests {
    typealias D = Dispatch
    let t0 = Dispatch.t0

    @Test func happyPathFollowsClaimCallRecordPublishCommit() throws {
        var m = DispatchMachine()
        let assigned = m.partitionsAssigned([D.p0])
        #expect(assigned.isEmpty)
        let request = try D.request("r-1")
        let received = m.recordReceived(D.record(7, key: "k", request: request), now: t0)
        #expect(received == [.claim(D.id(7), request)])
        #expect(m.callSlotsInUse == 1)
        let claimed = m.claimAnswered(D.id(7), .claimed, now: t0 + 1)
        #expect(claimed == [.callAICC(D.id(7), request, attempt: 1)])
        let answered = m.aiccAnswered(D.id(7), D.accepted("serial-1"), now: t0 + 2, randomUnit: 0.5)
        let recorded = try #require(answered.recorded.first)
        #expect(answered.count == 1)
        #expect(recorded.result.outcome == .accepted)
        #expect(recorded.result.callSerialNo == "serial-1")
        #expect(recorded.result.aicc == D.ok)
        #expect(recorded.result.attempts == 1)
        #expect(recorded.result.receivedAt == t0 && recorded.result.completedAt == t0 + 2)
        #expect(recorded.result.source == .init(topic: "requests", partition: 0, offset: 7))
        #expect(recorded.result.attributes == ["alert": "r-1"])
        #expect(!recorded.inDoubt)
        #expect(m.commitPosition(D.p0) == 7)  // not finished before it is published
        let stored = m.outcomeRecorded(D.id(7), now: t0 + 3)
        #expect(stored == [.publishResult(D.id(7), .fresh(recorded.result))])
        #expect(m.callSlotsInUse == 0)
        let published = m.published(D.id(7), now: t0 + 4)
        #expect(published == [.commit([CommitPosition(partition: D.p0, offset: 8)])])
        #expect(m.inFlight == 0)
        // Events about a finished record are ignored.
        let late = m.published(D.id(7), now: t0 + 5)
        #expect(late.isEmpty)
    }

    @Test func duplicateCompletedAndConflictPublishWithoutCalling() throws {
        var m = DispatchMachine()
        _ = m.partitionsAssigned([D.p0])
        for (offset, id) in [(0, "dup"), (1, "again"), (2, "other")] as [(Int64, String)] {
            _ = m.recordReceived(D.record(offset, key: nil, request: try D.request(id, key: "k-\(offset)")), now: t0)
        }
        let duplicate = m.claimAnswered(
            D.id(0), .duplicate(originalRequestId: "orig", outcome: .accepted, callSerialNo: "s-9"), now: t0)
        let result = try #require(duplicate.freshResults.first)
        #expect(duplicate.calls.isEmpty && duplicate.recorded.isEmpty)
        #expect(result.outcome == .duplicate)
        #expect(result.duplicateOf == .init(requestId: "orig", outcome: .accepted))
        #expect(result.callSerialNo == "s-9")
        #expect(result.attempts == 0)

        let stored: [UInt8] = Array(#"{"requestId":"again"}"#.utf8)
        let completed = m.claimAnswered(D.id(1), .completed(storedResult: stored), now: t0)
        #expect(completed == [.publishResult(D.id(1), .stored(stored, idempotencyKey: "k-1"))])

        let conflict = m.claimAnswered(D.id(2), .conflict, now: t0)
        let rejected = try #require(conflict.freshResults.first)
        #expect(rejected.outcome == .rejected)
        #expect(rejected.error?.code == "idempotency.conflict")
        #expect(m.callSlotsInUse == 0)

        // Published out of order: the watermark waits for offset 0.
        let p2 = m.published(D.id(2), now: t0)
        #expect(p2.commits == [CommitPosition(partition: D.p0, offset: 0)])
        let p1 = m.published(D.id(1), now: t0)
        #expect(p1.commits.isEmpty)
        let p0 = m.published(D.id(0), now: t0)
        #expect(p0.commits == [CommitPosition(partition: D.p0, offset: 3)])
    }

    @Test func transientThenAcceptedRetriesWithinTheBackoffCap() throws {
        var m = DispatchMachine()
        _ = m.partitionsAssigned([D.p0])
        let request = try D.request("r-1")
        _ = m.recordReceived(D.record(0, key: "k", request: request), now: t0)
        _ = m.claimAnswered(D.id(0), .claimed, now: t0)
        let first = m.aiccAnswered(D.id(0), D.transient, now: t0 + 1, randomUnit: 0.5)
        #expect(first.map(\.self) == [.scheduleRetry(D.id(0), at: t0 + 1.5)])  // cap 1 s × 0.5
        #expect(m.callSlotsInUse == 0)  // a retrying key holds no slot
        let early = m.aiccAnswered(D.id(0), D.accepted("x"), now: t0 + 1, randomUnit: 0)
        #expect(early.isEmpty)  // not calling: ignored
        let fired = m.retryTimerFired(D.id(0), now: t0 + 1.5)
        #expect(fired == [.callAICC(D.id(0), request, attempt: 2)])
        let second = m.aiccAnswered(D.id(0), D.transient, now: t0 + 2, randomUnit: 1)
        #expect(second.retries.first?.at == t0 + 4)  // cap 2 s
        _ = m.retryTimerFired(D.id(0), now: t0 + 4)
        let accepted = m.aiccAnswered(D.id(0), D.accepted("serial"), now: t0 + 5, randomUnit: 0)
        let result = try #require(accepted.recorded.first?.result)
        #expect(result.outcome == .accepted && result.attempts == 3 && result.error == nil)
    }

    @Test func attemptsExhaustedFailWithTheLastError() throws {
        var m = DispatchMachine(configuration: .init(retry: RetryPolicy(maxAttempts: 2)))
        _ = m.partitionsAssigned([D.p0])
        _ = m.recordReceived(D.record(0, key: nil, request: try D.request("r")), now: t0)
        _ = m.claimAnswered(D.id(0), .claimed, now: t0)
        _ = m.aiccAnswered(D.id(0), D.transient, now: t0, randomUnit: 0)
        _ = m.retryTimerFired(D.id(0), now: t0)
        let last = m.aiccAnswered(D.id(0), D.transient, now: t0 + 1, randomUnit: 0)
        let recorded = try #require(last.recorded.first)
        #expect(recorded.result.outcome == .failed)
        #expect(recorded.result.error?.code == "aicc.http.503")
        #expect(recorded.result.aicc == D.busy)
        #expect(recorded.result.attempts == 2)
        #expect(!recorded.inDoubt)
    }

    @Test func inDoubtCallFollowsThePolicy() throws {
        var report = DispatchMachine()
        _ = report.partitionsAssigned([D.p0])
        _ = report.recordReceived(D.record(0, key: nil, request: try D.request("r")), now: t0)
        _ = report.claimAnswered(D.id(0), .claimed, now: t0)
        let reported = report.aiccAnswered(D.id(0), D.timeout, now: t0, randomUnit: 0)
        let recorded = try #require(reported.recorded.first)
        #expect(recorded.result.outcome == .indeterminate)
        #expect(recorded.result.error?.code == "aicc.timeout")
        #expect(recorded.inDoubt)
        #expect(reported.retries.isEmpty && reported.calls.isEmpty)

        var retry = DispatchMachine(configuration: .init(inDoubtPolicy: .retry))
        _ = retry.partitionsAssigned([D.p0])
        _ = retry.recordReceived(D.record(0, key: nil, request: try D.request("r")), now: t0)
        _ = retry.claimAnswered(D.id(0), .claimed, now: t0)
        let retried = retry.aiccAnswered(D.id(0), D.timeout, now: t0, randomUnit: 0.25)
        #expect(retried.retries.map(\.at) == [t0 + 0.25])
        _ = retry.retryTimerFired(D.id(0), now: t0 + 1)
        let accepted = retry.aiccAnswered(D.id(0), D.accepted("s"), now: t0 + 2, randomUnit: 0)
        #expect(accepted.recorded.first?.inDoubt == true)  // an earlier attempt may have placed a call
    }

    @Test func claimInDoubtFollowsThePolicy() throws {
        var report = DispatchMachine()
        _ = report.partitionsAssigned([D.p0])
        _ = report.recordReceived(D.record(0, key: nil, request: try D.request("r")), now: t0)
        let reported = report.claimAnswered(D.id(0), .inDoubt, now: t0)
        #expect(reported.recorded.first?.result.outcome == .indeterminate)
        #expect(reported.recorded.first?.result.error?.code == DispatchErrorCode.claimInDoubt)
        #expect(reported.calls.isEmpty)

        var retry = DispatchMachine(configuration: .init(inDoubtPolicy: .retry))
        _ = retry.partitionsAssigned([D.p0])
        let request = try D.request("r")
        _ = retry.recordReceived(D.record(0, key: nil, request: request), now: t0)
        let called = retry.claimAnswered(D.id(0), .inDoubt, now: t0)
        #expect(called == [.callAICC(D.id(0), request, attempt: 1)])
    }

    @Test func deadlineBeforeClaimAndWhileRetrying() throws {
        var m = DispatchMachine()
        _ = m.partitionsAssigned([D.p0])
        // Already expired: no claim, `expired` published at once.
        let stale = m.recordReceived(
            D.record(0, key: nil, request: try D.request("old", expiresAt: "2029-12-31T23:59:59Z")), now: t0)
        #expect(stale.claims.isEmpty)
        #expect(stale.freshResults.map(\.outcome) == [.expired])
        #expect(stale.freshResults.first?.error?.code == "dispatch.deadline")

        // Expires 3 s after t0; the second retry's cap (2 s) would pass it.
        _ = m.recordReceived(
            D.record(1, key: nil, request: try D.request("soon", expiresAt: "2030-01-01T00:00:03Z")), now: t0)
        _ = m.claimAnswered(D.id(1), .claimed, now: t0)
        let first = m.aiccAnswered(D.id(1), D.transient, now: t0 + 1, randomUnit: 1)
        #expect(first.retries.map(\.at) == [t0 + 2])
        _ = m.retryTimerFired(D.id(1), now: t0 + 2)
        let second = m.aiccAnswered(D.id(1), D.transient, now: t0 + 2, randomUnit: 0.9)  // t0 + 3.8
        let recorded = try #require(second.recorded.first)
        #expect(second.retries.isEmpty)
        #expect(recorded.result.outcome == .expired)
        #expect(recorded.result.error?.code == "dispatch.deadline")
        #expect(recorded.result.aicc == D.busy)
        #expect(recorded.result.attempts == 2)

        // A retry timer that fires late (after expiresAt) never calls.
        _ = m.recordReceived(
            D.record(2, key: nil, request: try D.request("late", expiresAt: "2030-01-01T00:00:10Z")), now: t0)
        _ = m.claimAnswered(D.id(2), .claimed, now: t0)
        _ = m.aiccAnswered(D.id(2), D.transient, now: t0, randomUnit: 1)
        let fired = m.retryTimerFired(D.id(2), now: t0 + 11)
        #expect(fired.calls.isEmpty)
        #expect(fired.recorded.map(\.result.outcome) == [.expired])
    }

    @Test func sameKeyWaitsForThePreviousResultOthersDoNot() throws {
        var m = DispatchMachine()
        _ = m.partitionsAssigned([D.p0])
        let a0 = m.recordReceived(D.record(0, key: "A", request: try D.request("a0")), now: t0)
        let a1 = m.recordReceived(D.record(1, key: "A", request: try D.request("a1")), now: t0)
        let b2 = m.recordReceived(D.record(2, key: "B", request: try D.request("b2")), now: t0)
        #expect(a0.claims == [D.id(0)] && a1.claims.isEmpty && b2.claims == [D.id(2)])
        // A's first record retries; B finishes meanwhile; A's second still waits.
        _ = m.claimAnswered(D.id(0), .claimed, now: t0)
        _ = m.aiccAnswered(D.id(0), D.transient, now: t0, randomUnit: 0.5)
        _ = m.claimAnswered(D.id(2), .completed(storedResult: [1]), now: t0)
        let b = m.published(D.id(2), now: t0)
        #expect(b.claims.isEmpty)
        #expect(b.commits == [CommitPosition(partition: D.p0, offset: 0)])
        _ = m.retryTimerFired(D.id(0), now: t0 + 1)
        _ = m.aiccAnswered(D.id(0), D.accepted("s"), now: t0 + 1, randomUnit: 0)
        let recorded = m.outcomeRecorded(D.id(0), now: t0 + 1)
        #expect(recorded.claims.isEmpty)  // not before the result is published
        let a = m.published(D.id(0), now: t0 + 2)
        #expect(a.claims == [D.id(1)])
        #expect(a.commits == [CommitPosition(partition: D.p0, offset: 1)])
    }

    @Test func callSlotsBoundClaimsAndCalls() throws {
        var m = DispatchMachine(configuration: .init(maxConcurrency: 2))
        _ = m.partitionsAssigned([D.p0])
        var claimed: [RecordID] = []
        for offset in Int64(0)..<4 {
            claimed += m.recordReceived(D.record(offset, key: nil, request: try D.request("r\(offset)")), now: t0).claims
        }
        #expect(claimed == [D.id(0), D.id(1)])
        #expect(m.callSlotsInUse == 2)
        _ = m.claimAnswered(D.id(0), .claimed, now: t0)
        let retrying = m.aiccAnswered(D.id(0), D.transient, now: t0, randomUnit: 0)
        #expect(retrying.claims == [D.id(2)])  // the backing-off record gave its slot up
        let fired = m.retryTimerFired(D.id(0), now: t0)
        #expect(fired.calls.isEmpty)  // and waits for one again
        let conflict = m.claimAnswered(D.id(1), .conflict, now: t0)
        #expect(conflict.claims == [D.id(3)])  // FIFO: the earlier waiter first
        let conflict2 = m.claimAnswered(D.id(2), .conflict, now: t0)
        #expect(conflict2.calls.map(\.id) == [D.id(0)])
        #expect(conflict2.calls.map(\.attempt) == [2])
    }

    @Test func invalidRecordsAreRejectedOrDeadLetteredAndCommitted() {
        var m = DispatchMachine()
        _ = m.partitionsAssigned([D.p0])
        let error = ContractError(.calledFormat, path: "/called", message: "bad")
        let invalid = DispatchRecord(
            id: D.id(0), key: Array("k".utf8),
            decoded: DecodeResult(kind: .invalid, errors: [error], requestId: "r-bad", idempotencyKey: "r-bad"))
        let garbage = DispatchRecord(
            id: D.id(1), key: nil,
            decoded: DecodeResult(kind: .undecodable, errors: [ContractError(.decodeJSON, path: "", message: "x")]))
        let first = m.recordReceived(invalid, now: t0)
        #expect(first.claims.isEmpty && first.deadLetters.isEmpty)
        #expect(first.freshResults.map(\.outcome) == [.rejected])
        #expect(first.freshResults.first?.error?.code == "validation.called.format")
        let second = m.recordReceived(garbage, now: t0)
        #expect(second.deadLetters == [D.id(1)] && second.publishedResults.isEmpty)
        let done1 = m.published(D.id(1), now: t0)
        #expect(done1.commits == [CommitPosition(partition: D.p0, offset: 0)])
        let done0 = m.published(D.id(0), now: t0)
        #expect(done0.commits == [CommitPosition(partition: D.p0, offset: 2)])
    }

    @Test func outageOpensPausesAndOneDueRetryIsTheTrial() throws {
        var m = DispatchMachine(configuration: .init(maxConcurrency: 8, breaker: OutageBreaker(threshold: 2)))
        _ = m.partitionsAssigned([D.p0, D.p1])
        for offset in Int64(0)..<3 {
            _ = m.recordReceived(D.record(offset, key: nil, request: try D.request("r\(offset)")), now: t0)
            _ = m.claimAnswered(D.id(offset), .claimed, now: t0)
        }
        _ = m.aiccAnswered(D.id(0), D.transient, now: t0, randomUnit: 0)
        let opened = m.aiccAnswered(D.id(1), D.transient, now: t0, randomUnit: 0)
        #expect(opened.paused == [D.p0, D.p1])
        #expect(opened.contains(.scheduleProbe(at: t0 + 1)))
        #expect(m.isOutage)
        // A call that was in flight fails too: it does not count while open.
        let third = m.aiccAnswered(D.id(2), D.transient, now: t0, randomUnit: 0)
        #expect(third.paused.isEmpty && !third.contains(.sendProbe))
        // No claims or calls while open: not for new records, not for retries.
        let arriving = m.recordReceived(D.record(3, key: nil, request: try D.request("r3")), now: t0)
        #expect(arriving.claims.isEmpty)
        for offset in Int64(0)..<3 {
            #expect(m.retryTimerFired(D.id(offset), now: t0 + 0.5).calls.isEmpty)
        }
        // The probe timer lets exactly one due retry through: the trial.
        let trial = m.probeTimerFired(now: t0 + 1)
        #expect(trial.calls.map(\.id) == [D.id(0)])
        #expect(trial.calls.map(\.attempt) == [2])
        #expect(!trial.contains(.sendProbe) && trial.claims.isEmpty)
        // It fails: the breaker stays open, the next trial comes after a doubled interval.
        let failed = m.aiccAnswered(D.id(0), D.transient, now: t0 + 1, randomUnit: 0)
        #expect(failed.contains(.scheduleProbe(at: t0 + 3)))
        #expect(failed.resumed.isEmpty && failed.calls.isEmpty && failed.claims.isEmpty)
        #expect(m.isOutage)
        #expect(m.retryTimerFired(D.id(0), now: t0 + 2).calls.isEmpty)
        // The next trial is the next due retry, in the order they came due.
        let second = m.probeTimerFired(now: t0 + 3)
        #expect(second.calls.map(\.id) == [D.id(1)])
        #expect(second.calls.map(\.attempt) == [2])
        // It succeeds: the breaker closes, the others go, nobody spent an attempt waiting.
        let closed = m.aiccAnswered(D.id(1), D.accepted("s-1"), now: t0 + 3, randomUnit: 0)
        #expect(!m.isOutage)
        #expect(closed.resumed == [D.p0, D.p1])
        #expect(closed.recorded.map(\.result.outcome) == [.accepted])
        #expect(Dictionary(uniqueKeysWithValues: closed.calls.map { ($0.id, $0.attempt) }) == [D.id(2): 2, D.id(0): 3])
        #expect(closed.claims == [D.id(3)])
    }

    @Test func whileOpenDeadlinesStillApplyAndWithNoRetryDueATokenProbeDecides() throws {
        var m = DispatchMachine(configuration: .init(maxConcurrency: 8, breaker: OutageBreaker(threshold: 1)))
        _ = m.partitionsAssigned([D.p0])
        let soon = try D.request("r0", expiresAt: "2030-01-01T00:00:02Z")
        _ = m.recordReceived(D.record(0, key: nil, request: soon), now: t0)
        _ = m.claimAnswered(D.id(0), .claimed, now: t0)
        _ = m.aiccAnswered(D.id(0), D.transient, now: t0, randomUnit: 0)
        let waiting = try D.request("r1", expiresAt: "2030-01-01T00:00:02Z")
        _ = m.recordReceived(D.record(1, key: nil, request: waiting), now: t0)
        #expect(m.retryTimerFired(D.id(0), now: t0 + 1).calls.isEmpty)
        // At the probe both deadlines have passed: the claimed one is recorded
        // expired, the unclaimed one published expired; neither is called; with
        // no call due, a token fetch probes.
        let probe = m.probeTimerFired(now: t0 + 3)
        #expect(probe.calls.isEmpty && probe.claims.isEmpty)
        #expect(probe.recorded.map(\.result.outcome) == [.expired])
        #expect(probe.freshResults.map(\.outcome).contains(.expired))
        #expect(probe.contains(.sendProbe))
        let resumed = m.probeAnswered(success: true, now: t0 + 3)
        #expect(resumed.resumed == [D.p0])
    }

    @Test func refusedCredentialsPauseAndNeverReject() throws {
        var m = DispatchMachine()
        _ = m.partitionsAssigned([D.p0])
        let request = try D.request("r")
        _ = m.recordReceived(D.record(0, key: nil, request: request), now: t0)
        _ = m.claimAnswered(D.id(0), .claimed, now: t0)
        let refused = m.aiccAnswered(D.id(0), .credentialsRefused, now: t0, randomUnit: 0)
        #expect(refused.paused == [D.p0])
        #expect(refused.recorded.isEmpty && refused.publishedResults.isEmpty)
        #expect(m.isOutage)
        _ = m.probeTimerFired(now: t0 + 1)
        let resumed = m.probeAnswered(success: true, now: t0 + 1)
        #expect(resumed.resumed == [D.p0])
        #expect(resumed.calls.map(\.attempt) == [1])  // the refused call did not count
    }

    @Test func inFlightBoundPausesAndResumes() throws {
        var m = DispatchMachine(configuration: .init(flowControl: FlowControl(maxInFlight: 3, resumeFraction: 0.5)))
        _ = m.partitionsAssigned([D.p0])
        var paused: [TopicPartition] = []
        for offset in Int64(0)..<3 {
            paused += m.recordReceived(D.record(offset, key: nil, request: try D.request("r\(offset)")), now: t0).paused
        }
        #expect(paused == [D.p0])
        _ = m.claimAnswered(D.id(0), .conflict, now: t0)
        _ = m.claimAnswered(D.id(1), .conflict, now: t0)
        let one = m.published(D.id(0), now: t0)
        #expect(one.resumed.isEmpty)  // 2 in flight, resume at 1
        let two = m.published(D.id(1), now: t0)
        #expect(two.resumed == [D.p0])
    }

    @Test func revocationCommitsReleasesAndOrphansInFlightWork() throws {
        var m = DispatchMachine(configuration: .init(maxConcurrency: 3))
        _ = m.partitionsAssigned([D.p0, D.p1])
        // p0: 0 finished, 1 calling, 2 backing off, 3 queued behind 2's key, 4 claiming; p1: 0 claiming.
        let keys = [nil, nil, "K", "K", nil]
        for (offset, key) in keys.enumerated() {
            _ = m.recordReceived(D.record(Int64(offset), key: key, request: try D.request("r\(offset)")), now: t0)
        }
        _ = m.recordReceived(D.record(D.p1, 0, key: nil, request: try D.request("q0")), now: t0)
        _ = m.claimAnswered(D.id(0), .completed(storedResult: [0]), now: t0)  // frees a slot: 3 claims
        _ = m.published(D.id(0), now: t0)
        _ = m.claimAnswered(D.id(1), .claimed, now: t0)
        _ = m.claimAnswered(D.id(2), .claimed, now: t0)
        _ = m.aiccAnswered(D.id(2), D.transient, now: t0, randomUnit: 0.5)  // frees a slot: 4 claims
        #expect(m.callSlotsInUse == 3)  // 1 calling, 4 and p1/0 claiming

        let starting = m.revocationStarted([D.p0])
        #expect(starting.isEmpty)  // 1 was committed when 0 finished
        let timer = m.retryTimerFired(D.id(2), now: t0 + 1)
        #expect(timer.isEmpty)  // no new work in a draining partition
        let revoked = m.partitionsRevoked([D.p0], now: t0 + 1)
        #expect(revoked.releasedClaims == [D.id(2)])  // claimed, nothing in doubt
        #expect(revoked.commits.isEmpty)
        #expect(m.inFlight(in: [D.p0]) == 0)
        #expect(m.inFlight == 1)
        #expect(m.commitPosition(D.p0) == nil)

        // The orphaned call still reaches the store, but publishes nothing.
        let answer = m.aiccAnswered(D.id(1), D.accepted("s"), now: t0 + 2, randomUnit: 0)
        #expect(answer.recorded.map(\.result.outcome) == [.accepted])
        let recorded = m.outcomeRecorded(D.id(1), now: t0 + 2)
        #expect(recorded.publishedResults.isEmpty)
        // The orphaned claim is given back when it was granted.
        let claim = m.claimAnswered(D.id(4), .claimed, now: t0 + 2)
        #expect(claim.releasedClaims == [D.id(4)] && claim.calls.isEmpty)
        #expect(m.callSlotsInUse == 1)  // p1/0 still claiming
        let other = m.claimAnswered(D.id(D.p1, 0), .claimed, now: t0 + 2)
        #expect(other.calls.map(\.id) == [D.id(D.p1, 0)])
    }

    @Test func shutdownPausesEverything() {
        var m = DispatchMachine()
        _ = m.partitionsAssigned([D.p1, D.p0])
        let shutdown = m.shutdownRequested()
        #expect(shutdown == [.pause([D.p0, D.p1])])
        let assigned = m.partitionsAssigned([D.p0])
        #expect(assigned.isEmpty)
    }

    @Test func shutdownStopsNewWorkAndCommitsWhatIsDone() throws {
        var m = DispatchMachine(configuration: .init(flowControl: FlowControl(maxInFlight: 2, resumeFraction: 0.5)))
        _ = m.partitionsAssigned([D.p0])
        _ = m.recordReceived(D.record(0, key: "K", request: try D.request("a")), now: t0)
        _ = m.recordReceived(D.record(1, key: "K", request: try D.request("b")), now: t0)
        let shutdown = m.shutdownRequested()
        #expect(shutdown.paused.isEmpty)  // already paused: the in-flight bound (2) was reached
        #expect(shutdown.commits == [CommitPosition(partition: D.p0, offset: 0)])
        let late = m.recordReceived(D.record(2, key: nil, request: try D.request("c")), now: t0)
        #expect(late.isEmpty)
        _ = m.claimAnswered(D.id(0), .completed(storedResult: [1]), now: t0)
        let done = m.published(D.id(0), now: t0)
        #expect(done.claims.isEmpty)  // the next of the key is not started
        #expect(done.resumed.isEmpty)  // below the low mark, but shutting down
        #expect(done.commits == [CommitPosition(partition: D.p0, offset: 1)])
        let revoked = m.partitionsRevoked([D.p0], now: t0)
        #expect(revoked.isEmpty)
        #expect(m.inFlight == 0)
    }
}
