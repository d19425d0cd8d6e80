public import Foundation

/// The dispatch core: one pure state machine per worker process that decides,
/// record by record, what happens next (architecture.md "One record's way";
/// product §4). Inputs are events; each returns the ``Action``s the worker
/// (Dispatcher) performs, which answer with further events. No I/O, no clock:
/// time comes in as `now`, randomness as `randomUnit`.
///
/// A valid request goes: wait for its key (``KeyedSequencer``) → wait for a call
/// slot (`aicc.maxConcurrency`; none are granted while the ``OutageBreaker`` is
/// open) → `claim` in the store → `callAICC` → `recordOutcome` → `publishResult`
/// → finished (``OffsetTracker``) → `commit` of the advanced watermark. A
/// transient failure releases the slot and schedules a retry (``RetryPolicy``),
/// so a retrying key holds up neither other keys nor call slots. An invalid
/// request publishes `rejected` and/or goes to the dead-letter topic; an expired
/// one publishes `expired` without a claim. ``FlowControl`` pauses and resumes
/// partitions for the in-flight bound and for outages.
///
/// Revocation: ``revocationStarted(_:)`` stops starting work in those partitions
/// and commits what is finished; the worker lets in-flight records finish within
/// its bound, then calls ``partitionsRevoked(_:)``, which drops what is left.
/// A record whose AICC call is out when dropped stays as an orphan: its answer is
/// still recorded in the store (so the next owner finds it) but not published.
///
/// Events about unknown records, or arriving in a stage that does not expect
/// them, are ignored (they return no action).
public struct DispatchMachine: Sendable {
    enum SlotStep: Sendable, Hashable {
        case claim
        case call
    }

    enum Stage: Sendable, Hashable {
        /// Behind an earlier record of its key.
        case sequenced
        /// Waiting for a call slot, then `step`.
        case waitingSlot(SlotStep)
        case claiming
        case calling
        /// Waiting for a retry timer, then `step`.
        case waitingTimer(SlotStep)
        case recording
        case publishing
    }

    /// One record in the worker. The table holds one for every record in
    /// flight (up to `dispatch.maxInFlight` and what the consumer had
    /// fetched), so an entry keeps what it rarely needs out of line: the
    /// request is the decoded one (not a second copy), the result is boxed.
    struct Entry: Sendable {
        var record: DispatchRecord
        var receivedAt: Date
        var stage: Stage
        var attempts = 0
        var attemptInDoubt = false
        var holdsSlot = false
        var pendingPublications = 0
        var orphan = false
        var lastAICC: NotificationResult.AICCAnswer?
        private var boxedResult: OutOfLine<NotificationResult>?

        init(record: DispatchRecord, receivedAt: Date, stage: Stage) {
            self.record = record
            self.receivedAt = receivedAt
            self.stage = stage
        }

        /// The valid request, `nil` for a record that is not one.
        var request: NotificationRequest? { record.decoded.request }
        /// The result once the outcome is known (recorded, then published).
        var result: NotificationResult? {
            get { boxedResult?.value }
            set { boxedResult = newValue.map(OutOfLine.init) }
        }
    }

    /// A value stored out of line (one pointer in its container), with value
    /// semantics: it is never mutated in place.
    indirect enum OutOfLine<Value: Sendable>: Sendable {
        case stored(Value)
        init(_ value: Value) { self = .stored(value) }
        var value: Value {
            switch self {
            case .stored(let value): value
            }
        }
    }

    /// The settings.
    public let configuration: Configuration
    private var entries: [RecordID: Entry] = [:]
    private var sequencer = KeyedSequencer<RecordID>()
    private var offsets = OffsetTracker()
    private var flow: FlowControl
    private var breaker: OutageBreaker
    private var slotQueue = FIFO<RecordID>()
    private var slotsInUse = 0
    /// The record whose call is the breaker's trial while it is open.
    private var trial: RecordID?
    private var draining: Set<TopicPartition> = []
    private var shuttingDown = false

    /// A machine with no partitions and no records.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.flow = configuration.flowControl
        self.breaker = configuration.breaker
    }

    // MARK: Observation

    /// Records in the worker (not yet finished), orphans excluded.
    /// Counted in place: a `filter` would copy every entry into an array
    /// under the machine's lock (measured: 9 MiB at the peak of scenario d).
    public var inFlight: Int { entries.values.reduce(0) { $1.orphan ? $0 : $0 + 1 } }
    /// Records in `partitions` not yet finished, orphans excluded.
    public func inFlight(in partitions: some Sequence<TopicPartition>) -> Int {
        let set = Set(partitions)
        return entries.values.reduce(0) { !$1.orphan && set.contains($1.record.id.partition) ? $0 + 1 : $0 }
    }
    /// Records in `partitions` (every partition when `nil`) with a step under
    /// way — a claim, an AICC call, a store write or a publication — which
    /// revocation and shutdown wait for (within their bound). Parked records
    /// (behind their key, waiting for a slot, backing off) are not counted:
    /// they are dropped on revocation and read again by the next owner.
    public func inProgress(in partitions: Set<TopicPartition>?) -> Int {
        entries.values.reduce(0) { count, entry in
            guard !entry.orphan, partitions?.contains(entry.record.id.partition) ?? true else { return count }
            switch entry.stage {
            case .claiming, .calling, .recording, .publishing: return count + 1
            case .sequenced, .waitingSlot, .waitingTimer: return count
            }
        }
    }
    /// Claims and calls out (at most `maxConcurrency`).
    public var callSlotsInUse: Int { slotsInUse }
    /// Whether AICC is considered out (report not ready).
    public var isOutage: Bool { breaker.isOpen }

    /// Whether the record is still in the worker (not finished, not dropped).
    public func isTracking(_ id: RecordID) -> Bool { entries[id] != nil }
    /// Where each partition would commit now.
    public func commitPosition(_ partition: TopicPartition) -> Int64? { offsets.commitPosition(partition) }

    // MARK: Events

    /// The consumer was assigned partitions.
    public mutating func partitionsAssigned(_ partitions: [TopicPartition]) -> [Action] {
        draining.subtract(partitions)
        return flow.assign(partitions).map(Self.action)
    }

    /// A record was consumed. Call in offset order within a partition.
    public mutating func recordReceived(_ record: DispatchRecord, now: Date) -> [Action] {
        guard entries[record.id] == nil, !draining.contains(record.id.partition), !shuttingDown else { return [] }
        var actions: [Action] = []
        offsets.track(record.id.partition, offset: record.id.offset)
        actions += flow.entered().map(Self.action)
        var entry = Entry(record: record, receivedAt: now, stage: .sequenced)
        guard record.decoded.kind == .valid, entry.request != nil else {
            // Not a valid request: no claim, no order to keep.
            let decoded = record.decoded
            entry.stage = .publishing
            if decoded.shouldDeadLetter {
                entry.pendingPublications += 1
                actions.append(.publishDeadLetter(record.id, errors: decoded.errors))
            }
            if decoded.shouldPublishRejected, let requestId = decoded.requestId {
                entry.pendingPublications += 1
                let error = decoded.errors.first.map(NotificationResult.ErrorInfo.init)
                    ?? .init(code: "validation", message: "invalid request")
                let result = NotificationResult(
                    requestId: requestId, idempotencyKey: decoded.idempotencyKey ?? requestId,
                    attributes: decoded.attributes, outcome: .rejected, error: error, attempts: 0,
                    receivedAt: now, completedAt: now, source: Self.source(record.id))
                actions.append(.publishResult(record.id, .fresh(result)))
            }
            entries[record.id] = entry
            if entry.pendingPublications == 0 { actions += finish(record.id, now: now) }
            return actions
        }
        entries[record.id] = entry
        if sequencer.enqueue(record.id, key: record.key, partition: record.id.partition) == .ready {
            actions += waitForSlot(record.id, step: .claim, now: now)
        }
        return actions
    }

    /// The store answered a `claim`.
    public mutating func claimAnswered(_ id: RecordID, _ answer: ClaimAnswer, now: Date) -> [Action] {
        guard var entry = entries[id], entry.stage == .claiming, let request = entry.request else { return [] }
        if entry.orphan {
            // Revoked while claiming: give a fresh claim back; leave one in doubt as it is.
            releaseSlot(id)
            entries[id] = nil
            let release: [Action] = answer == .claimed ? [.releaseClaim(id, request)] : []
            return release + grantSlots(now: now)
        }
        switch answer {
        case .claimed:
            return callOrExpire(id, now: now)
        case .inDoubt:
            entry.attemptInDoubt = true
            entries[id] = entry
            switch configuration.inDoubtPolicy {
            case .retry:
                return callOrExpire(id, now: now)
            case .report:
                let error = NotificationResult.ErrorInfo(
                    code: DispatchErrorCode.claimInDoubt,
                    message: "an earlier dispatch of this key may have reached AICC; not calling again")
                return record(id, outcome: .indeterminate, error: error, now: now)
            }
        case .completed(let stored):
            releaseSlot(id)
            return publish(id, .stored(stored, idempotencyKey: request.idempotencyKey)) + grantSlots(now: now)
        case .duplicate(let originalRequestId, let outcome, let callSerialNo):
            releaseSlot(id)
            let result = makeResult(
                entry, request: request, outcome: .duplicate,
                duplicateOf: .init(requestId: originalRequestId, outcome: outcome),
                callSerialNo: callSerialNo, now: now)
            return publish(id, .fresh(result)) + grantSlots(now: now)
        case .suppressed(let error):
            // Remembered under its key like any outcome: a redelivery republishes it.
            return record(id, outcome: .suppressed, error: error, now: now)
        case .conflict:
            releaseSlot(id)
            let error = NotificationResult.ErrorInfo(
                code: DispatchErrorCode.idempotencyConflict,
                message: "the idempotency key was used for a different request")
            let result = makeResult(entry, request: request, outcome: .rejected, error: error, now: now)
            return publish(id, .fresh(result)) + grantSlots(now: now)
        case .inFlightElsewhere(let retryAt):
            releaseSlot(id)
            entries[id]?.stage = .waitingTimer(.claim)
            return [.scheduleRetry(id, at: retryAt)] + grantSlots(now: now)
        }
    }

    /// AICC answered a `callAICC` (`randomUnit` in `[0, 1)` drives the retry jitter).
    public mutating func aiccAnswered(_ id: RecordID, _ answer: CallAnswer, now: Date, randomUnit: Double) -> [Action] {
        guard var entry = entries[id], entry.stage == .calling, let request = entry.request else { return [] }
        if entry.orphan { return orphanAnswered(id, answer, now: now) }
        if trial == id { return trialAnswered(id, answer, now: now, randomUnit: randomUnit) }
        switch answer {
        case .accepted(let serial, let aicc):
            let actions = breaker.success(now: now)
            return record(id, outcome: .accepted, callSerialNo: serial, aicc: aicc, now: now)
                + breakerActions(actions, now: now)
        case .permanent(let error, let aicc):
            let actions = breaker.success(now: now)
            return record(id, outcome: .rejected, aicc: aicc, error: error, now: now)
                + breakerActions(actions, now: now)
        case .credentialsRefused:
            // The create call was not made: it does not count as an attempt.
            entry.attempts -= 1
            entries[id] = entry
            releaseSlot(id)
            let actions = breaker.credentialsRefused(now: now)
            entries[id]?.stage = .waitingSlot(.call)
            slotQueue.append(id)
            return breakerActions(actions, now: now) + grantSlots(now: now)
        case .transient(let error, let aicc):
            let actions = breaker.transientFailure(now: now)
            return retryOrGiveUp(id, error: error, aicc: aicc, request: request, now: now, randomUnit: randomUnit)
                + breakerActions(actions, now: now)
        case .inDoubt(let error):
            entry.attemptInDoubt = true
            entries[id] = entry
            let actions = breaker.transientFailure(now: now)
            let next: [Action]
            switch configuration.inDoubtPolicy {
            case .report:
                next = record(id, outcome: .indeterminate, error: error, now: now)
            case .retry:
                next = retryOrGiveUp(id, error: error, aicc: nil, request: request, now: now, randomUnit: randomUnit)
            }
            return next + breakerActions(actions, now: now)
        }
    }

    /// The store recorded an outcome.
    public mutating func outcomeRecorded(_ id: RecordID, now: Date) -> [Action] {
        guard let entry = entries[id], entry.stage == .recording, let result = entry.result else { return [] }
        releaseSlot(id)
        if entry.orphan {
            entries[id] = nil
            return grantSlots(now: now)
        }
        return publish(id, .fresh(result)) + grantSlots(now: now)
    }

    /// The store refused to record an outcome (or to note an attempt) because
    /// this worker no longer holds the key's claim (`store.claim.lost`: the
    /// lease lapsed and another owner took the key over). Nothing is published
    /// for what this worker did; the record goes back to claiming, so the store
    /// says what is true now (`completed`, `duplicate`, wait, or in doubt).
    public mutating func claimLost(_ id: RecordID, now: Date) -> [Action] {
        guard let entry = entries[id], !entry.orphan else {
            if entries[id]?.orphan == true {
                releaseSlot(id)
                entries[id] = nil
                return grantSlots(now: now)
            }
            return []
        }
        switch entry.stage {
        case .calling, .recording:
            let trialEnded = entry.stage == .calling ? endTrial(id, .noCall, now: now) : []
            releaseSlot(id)
            entries[id]?.result = nil
            entries[id]?.attemptInDoubt = false
            return trialEnded + waitForSlot(id, step: .claim, now: now)
        default:
            return []
        }
    }

    /// A `publishResult` or `publishDeadLetter` was acknowledged by Kafka.
    public mutating func published(_ id: RecordID, now: Date) -> [Action] {
        guard var entry = entries[id], entry.stage == .publishing, entry.pendingPublications > 0 else { return [] }
        entry.pendingPublications -= 1
        entries[id] = entry
        return entry.pendingPublications == 0 ? finish(id, now: now) : []
    }

    /// A `scheduleRetry` timer fired.
    public mutating func retryTimerFired(_ id: RecordID, now: Date) -> [Action] {
        guard let entry = entries[id], case .waitingTimer(let step) = entry.stage else { return [] }
        if draining.contains(id.partition) || shuttingDown { return [] }
        return waitForSlot(id, step: step, now: now)
    }

    /// A `scheduleProbe` timer fired.
    public mutating func probeTimerFired(now: Date) -> [Action] {
        breakerActions(breaker.probeTimerFired(now: now), now: now)
    }

    /// A `sendProbe` got its answer.
    public mutating func probeAnswered(success: Bool, now: Date) -> [Action] {
        breakerActions(breaker.probeAnswered(success: success, now: now), now: now)
    }

    /// Partitions are about to be revoked: start no more work in them, commit
    /// what is finished. Records in progress keep going.
    public mutating func revocationStarted(_ partitions: [TopicPartition]) -> [Action] {
        draining.formUnion(partitions)
        return commitPending(in: Set(partitions))
    }

    /// Partitions are gone: commit what is finished in them, drop every record
    /// of theirs. Records with an AICC call out become orphans.
    public mutating func partitionsRevoked(_ partitions: [TopicPartition], now: Date) -> [Action] {
        let set = Set(partitions)
        var actions = commitPending(in: set)
        sequencer.revoke(set)
        offsets.revoke(set)
        flow.revoke(set)
        draining.subtract(set)
        var dropped = 0
        for (id, entry) in entries.sorted(by: { $0.key < $1.key })
        where set.contains(id.partition) && !entry.orphan {
            dropped += 1
            switch entry.stage {
            case .claiming, .calling, .recording:
                // An answer is on its way: it still reaches the store.
                entries[id]?.orphan = true
            case .waitingSlot(.call), .waitingTimer(.call):
                // Claimed, no call out: give the claim back unless an attempt is in doubt.
                if !entry.attemptInDoubt, let request = entry.request { actions.append(.releaseClaim(id, request)) }
                releaseSlot(id)
                entries[id] = nil
            case .sequenced, .waitingSlot(.claim), .waitingTimer(.claim), .publishing:
                releaseSlot(id)
                entries[id] = nil
            }
        }
        actions += flow.left(dropped).map(Self.action)
        return actions + grantSlots(now: now)
    }

    /// Shutdown: start no more work anywhere, pause everything, commit what is
    /// finished. The worker drains within its bound, then revokes.
    public mutating func shutdownRequested() -> [Action] {
        shuttingDown = true
        draining.formUnion(flow.assigned)
        return flow.hold(.shutdown).map(Self.action) + commitPending(in: nil)
    }

    // MARK: Steps

    /// The answer of a call whose partition was revoked: the store still learns
    /// it (the next owner finds the outcome), nothing is published or retried.
    private mutating func orphanAnswered(_ id: RecordID, _ answer: CallAnswer, now: Date) -> [Action] {
        guard let entry = entries[id], let request = entry.request else { return [] }
        var actions: [Action] = []
        var breakerInput: [OutageBreaker.Action] = []
        let isTrial = trial == id
        if isTrial { trial = nil }
        switch answer {
        case .accepted(let serial, let aicc):
            breakerInput = breaker.success(now: now)
            actions = record(id, outcome: .accepted, callSerialNo: serial, aicc: aicc, now: now)
        case .permanent(let error, let aicc):
            breakerInput = breaker.success(now: now)
            actions = record(id, outcome: .rejected, aicc: aicc, error: error, now: now)
        case .inDoubt(let error):
            entries[id]?.attemptInDoubt = true
            breakerInput = breaker.transientFailure(now: now)
            if configuration.inDoubtPolicy == .report {
                actions = record(id, outcome: .indeterminate, error: error, now: now)
            } else {
                releaseSlot(id)
                entries[id] = nil  // the claim stays in doubt; the next owner retries
            }
        case .transient, .credentialsRefused:
            if case .credentialsRefused = answer {
                breakerInput = breaker.credentialsRefused(now: now)
            } else {
                breakerInput = breaker.transientFailure(now: now)
            }
            if !entry.attemptInDoubt { actions.append(.releaseClaim(id, request)) }
            releaseSlot(id)
            entries[id] = nil
        }
        if isTrial { breakerInput = breaker.trialAnswered(Self.trialAnswer(answer), now: now) }
        return actions + breakerActions(breakerInput, now: now) + grantSlots(now: now)
    }

    /// The answer of the breaker's trial call: it alone decides whether the
    /// breaker closes; the record itself goes on as any answered call does.
    private mutating func trialAnswered(_ id: RecordID, _ answer: CallAnswer, now: Date, randomUnit: Double) -> [Action] {
        guard var entry = entries[id], let request = entry.request else { return [] }
        trial = nil
        let breakerInput = breaker.trialAnswered(Self.trialAnswer(answer), now: now)
        let next: [Action]
        switch answer {
        case .accepted(let serial, let aicc):
            next = record(id, outcome: .accepted, callSerialNo: serial, aicc: aicc, now: now)
        case .permanent(let error, let aicc):
            next = record(id, outcome: .rejected, aicc: aicc, error: error, now: now)
        case .credentialsRefused:
            entry.attempts -= 1
            entries[id] = entry
            releaseSlot(id)
            entries[id]?.stage = .waitingSlot(.call)
            slotQueue.append(id)
            next = []
        case .transient(let error, let aicc):
            next = retryOrGiveUp(id, error: error, aicc: aicc, request: request, now: now, randomUnit: randomUnit)
        case .inDoubt(let error):
            entries[id]?.attemptInDoubt = true
            switch configuration.inDoubtPolicy {
            case .report: next = record(id, outcome: .indeterminate, error: error, now: now)
            case .retry: next = retryOrGiveUp(id, error: error, aicc: nil, request: request, now: now, randomUnit: randomUnit)
            }
        }
        return next + breakerActions(breakerInput, now: now) + grantSlots(now: now)
    }

    private static func trialAnswer(_ answer: CallAnswer) -> OutageBreaker.TrialAnswer {
        switch answer {
        case .accepted, .permanent: .answered
        case .transient, .inDoubt: .failed
        case .credentialsRefused: .credentialsRefused
        }
    }

    /// Ends the trial when `id` was it and its call will not be answered.
    private mutating func endTrial(_ id: RecordID, _ answer: OutageBreaker.TrialAnswer, now: Date) -> [Action] {
        guard trial == id else { return [] }
        trial = nil
        return breakerActions(breaker.trialAnswered(answer, now: now), now: now)
    }

    /// The breaker is open and its probe timer fired: records whose deadline
    /// passed while they waited end `expired` now (``NotificationRequest/expiresAt``
    /// still applies while paused), then the next due retry — a claimed
    /// record whose call is due — goes as the trial. With none, the breaker
    /// probes with a token fetch instead.
    private mutating func startTrial(now: Date) -> [Action] {
        var actions: [Action] = []
        var waiting = FIFO<RecordID>()
        var candidate: RecordID?
        while let id = slotQueue.popFirst() {
            guard let entry = entries[id], case .waitingSlot(let step) = entry.stage, let request = entry.request,
                !entry.orphan
            else { continue }
            if draining.contains(id.partition) || shuttingDown {
                entries[id]?.stage = .waitingTimer(step)
                continue
            }
            if let expiresAt = request.expiresAt, now > expiresAt {
                switch step {
                case .claim:
                    let result = makeResult(entry, request: request, outcome: .expired, error: Self.deadlineError, now: now)
                    actions += publish(id, .fresh(result))
                case .call:
                    actions += record(id, outcome: .expired, error: Self.deadlineError, now: now)
                }
                continue
            }
            if candidate == nil, step == .call, slotsInUse < configuration.maxConcurrency {
                candidate = id
            } else {
                waiting.append(id)
            }
        }
        slotQueue = waiting
        guard let id = candidate else {
            return actions + breakerActions(breaker.trialUnavailable(), now: now)
        }
        trial = id
        slotsInUse += 1
        entries[id]?.holdsSlot = true
        return actions + callOrExpire(id, now: now)
    }

    private mutating func waitForSlot(_ id: RecordID, step: SlotStep, now: Date) -> [Action] {
        entries[id]?.stage = .waitingSlot(step)
        slotQueue.append(id)
        return grantSlots(now: now)
    }

    private mutating func grantSlots(now: Date) -> [Action] {
        var actions: [Action] = []
        while slotsInUse < configuration.maxConcurrency, !breaker.isOpen, let id = slotQueue.popFirst() {
            guard let entry = entries[id], case .waitingSlot(let step) = entry.stage, let request = entry.request,
                !entry.orphan
            else { continue }  // dropped or moved on meanwhile
            if draining.contains(id.partition) || shuttingDown {
                entries[id]?.stage = .waitingTimer(step)  // parked until revoked
                continue
            }
            switch step {
            case .claim:
                if let expiresAt = request.expiresAt, now > expiresAt {
                    // Expired before any call: nothing is claimed or remembered.
                    let result = makeResult(entry, request: request, outcome: .expired, error: Self.deadlineError, now: now)
                    actions += publish(id, .fresh(result))
                    continue
                }
                slotsInUse += 1
                entries[id]?.holdsSlot = true
                entries[id]?.stage = .claiming
                actions.append(.claim(id, request))
            case .call:
                slotsInUse += 1
                entries[id]?.holdsSlot = true
                actions += callOrExpire(id, now: now)
            }
        }
        return actions
    }

    /// With a slot held and the key claimed: call, unless the deadline passed.
    private mutating func callOrExpire(_ id: RecordID, now: Date) -> [Action] {
        guard var entry = entries[id], let request = entry.request else { return [] }
        if let expiresAt = request.expiresAt, now > expiresAt {
            return record(id, outcome: .expired, error: Self.deadlineError, now: now)
        }
        entry.attempts += 1
        entry.stage = .calling
        entries[id] = entry
        return [.callAICC(id, request, attempt: entry.attempts)]
    }

    private mutating func retryOrGiveUp(
        _ id: RecordID, error: NotificationResult.ErrorInfo, aicc: NotificationResult.AICCAnswer?,
        request: NotificationRequest, now: Date, randomUnit: Double
    ) -> [Action] {
        guard let entry = entries[id] else { return [] }
        switch configuration.retry.next(
            afterAttempt: entry.attempts, now: now, expiresAt: request.expiresAt, randomUnit: randomUnit)
        {
        case .retry(let at):
            releaseSlot(id)
            entries[id]?.stage = .waitingTimer(.call)
            if let aicc { entries[id]?.lastAICC = aicc }
            return [.scheduleRetry(id, at: at)] + grantSlots(now: now)
        case .giveUp(.attemptsExhausted):
            return record(id, outcome: .failed, aicc: aicc, error: error, now: now)
        case .giveUp(.deadline):
            return record(id, outcome: .expired, aicc: aicc, error: Self.deadlineError, now: now)
        }
    }

    /// Asks the store to record the outcome (the slot stays held until it has).
    private mutating func record(
        _ id: RecordID, outcome: NotificationResult.Outcome, callSerialNo: String? = nil,
        aicc: NotificationResult.AICCAnswer? = nil, error: NotificationResult.ErrorInfo? = nil, now: Date
    ) -> [Action] {
        guard var entry = entries[id], let request = entry.request else { return [] }
        // Keep the last AICC answer of an earlier attempt when this one had none.
        let lastAICC = aicc ?? entry.lastAICC
        let result = makeResult(
            entry, request: request, outcome: outcome, callSerialNo: callSerialNo, aicc: lastAICC, error: error,
            now: now)
        entry.result = result
        entry.stage = .recording
        entries[id] = entry
        return [.recordOutcome(id, result, attemptInDoubt: entry.attemptInDoubt)]
    }

    private mutating func publish(_ id: RecordID, _ payload: ResultPayload) -> [Action] {
        guard var entry = entries[id] else { return [] }
        entry.stage = .publishing
        entry.pendingPublications = 1
        entries[id] = entry
        return [.publishResult(id, payload)]
    }

    /// The record's result is out: mark the offset finished, let its key move
    /// on, commit the advanced watermark.
    private mutating func finish(_ id: RecordID, now: Date) -> [Action] {
        guard let entry = entries[id] else { return [] }
        releaseSlot(id)
        entries[id] = nil
        var actions: [Action] = []
        offsets.finish(id.partition, offset: id.offset)
        actions += flow.left().map(Self.action)
        if entry.request != nil, let next = sequencer.complete(id) {
            if draining.contains(next.partition) || shuttingDown {
                entries[next]?.stage = .waitingTimer(.claim)  // parked until revoked
            } else {
                actions += waitForSlot(next, step: .claim, now: now)
            }
        }
        return commitPending(in: [id.partition]) + actions
    }

    private mutating func commitPending(in partitions: Set<TopicPartition>?) -> [Action] {
        let positions = offsets.pendingCommits().filter { partitions?.contains($0.partition) ?? true }
        guard !positions.isEmpty else { return [] }
        offsets.markCommitted(positions)
        return [.commit(positions)]
    }

    private mutating func releaseSlot(_ id: RecordID) {
        guard entries[id]?.holdsSlot == true else { return }
        entries[id]?.holdsSlot = false
        slotsInUse -= 1
    }

    private mutating func breakerActions(_ actions: [OutageBreaker.Action], now: Date) -> [Action] {
        var out: [Action] = []
        for action in actions {
            switch action {
            case .pauseAll: out += flow.hold(.outage).map(Self.action)
            case .resumeAll: out += flow.release(.outage).map(Self.action) + grantSlots(now: now)
            case .scheduleProbe(let at): out.append(.scheduleProbe(at: at))
            case .sendProbe: out.append(.sendProbe)
            case .sendTrial: out += startTrial(now: now)
            }
        }
        return out
    }

    // MARK: Helpers

    private static let deadlineError = NotificationResult.ErrorInfo(
        code: DispatchErrorCode.deadline, message: "expiresAt passed before a call was placed")

    private static func action(_ flow: FlowControl.Action) -> Action {
        switch flow {
        case .pause(let partitions): .pause(partitions)
        case .resume(let partitions): .resume(partitions)
        }
    }

    private static func source(_ id: RecordID) -> NotificationResult.Source {
        .init(topic: id.partition.topic, partition: Int(id.partition.partition), offset: id.offset)
    }

    private func makeResult(
        _ entry: Entry, request: NotificationRequest, outcome: NotificationResult.Outcome,
        duplicateOf: NotificationResult.DuplicateOf? = nil, callSerialNo: String? = nil,
        aicc: NotificationResult.AICCAnswer? = nil, error: NotificationResult.ErrorInfo? = nil, now: Date
    ) -> NotificationResult {
        NotificationResult(
            requestId: request.requestId, idempotencyKey: request.idempotencyKey, attributes: request.attributes,
            outcome: outcome, duplicateOf: duplicateOf, callSerialNo: callSerialNo, aicc: aicc, error: error,
            attempts: entry.attempts, receivedAt: entry.receivedAt, completedAt: now,
            source: Self.source(entry.record.id))
    }
}
