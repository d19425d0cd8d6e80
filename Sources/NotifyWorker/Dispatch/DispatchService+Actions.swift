import AICC
import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import NotifyCore
import NotifyStore
import NotifyTracing
import Tracing

extension DispatchService {
    /// Starts the effect of one action as a child task; its answer goes back
    /// into the machine through ``feed(_:_:)``.
    /// Adds `body` as a child task that runs inside record `id`'s span (its
    /// log lines, store writes and AICC calls belong to that trace).
    private func addTask(
        tracing id: RecordID, to group: inout ThrowingDiscardingTaskGroup<any Error>, _ body: @escaping @Sendable () async -> Void
    ) {
        let context = self.spanContext(id)
        group.addTask { await InstrumentationContext.withValue(context) { await body() } }
    }

    func perform(_ action: Action, _ sink: Sink, in group: inout ThrowingDiscardingTaskGroup<any Error>) {
        switch action {
        case .claims(let orders):
            // One task, one store operation for the batch; each record's call
            // then gets a task of its own (from the loop).
            group.addTask { _ = await self.claim(orders, continuing: nil, sink) }
        case .claim, .callAICC, .recordOutcome, .releaseClaim, .publishResult, .publishDeadLetter:
            guard let id = action.recordStep else { return }
            self.addTask(tracing: id, to: &group) { await self.drive([action], sink) }
        case .scheduleRetry(let id, let at):
            self.metrics.retryScheduled()
            group.addTask {
                guard await Self.sleep(until: at) else { return }
                self.feed(sink) { $0.retryTimerFired(id, now: Date()) }
            }
        case .scheduleProbe(let at):
            group.addTask {
                guard await Self.sleep(until: at) else { return }
                self.feed(sink) { $0.probeTimerFired(now: Date()) }
            }
        case .sendProbe:
            group.addTask { await self.probe(sink) }
        case .pause, .resume, .commit:
            break  // performed in feed(_:continuing:_:)
        }
    }

    /// Performs one record's steps in this task, one after another: each
    /// step's answer goes into the machine, and what the machine asks next of
    /// the same record is performed here too (``feed(_:continuing:_:)``).
    private func drive(_ first: [Action], _ sink: Sink) async {
        var queue = first[...]
        while let action = queue.popFirst() {
            queue += await self.step(action, sink)
        }
    }

    /// One step of a record; returns its next steps.
    private func step(_ action: Action, _ sink: Sink) async -> [Action] {
        switch action {
        case .claim(let id, let request):
            return await self.claim([DispatchMachine.ClaimOrder(id: id, request: request)], continuing: id, sink)
        case .callAICC(let id, let request, let attempt):
            return await self.call(id, request, attempt: attempt, sink)
        case .recordOutcome(let id, let result, let attemptInDoubt):
            return await self.record(id, result, attemptInDoubt: attemptInDoubt, sink)
        case .releaseClaim(let id, let request):
            await self.release(id, request)
            return []
        case .publishResult(let id, let payload):
            return await self.publish(id, payload, sink)
        case .publishDeadLetter(let id, let errors):
            return await self.deadLetter(id, errors, sink)
        case .claims, .scheduleRetry, .scheduleProbe, .sendProbe, .pause, .resume, .commit:
            sink.post([action])  // not a record's step: the loop's
            return []
        }
    }

    // MARK: Store

    /// Claims the orders' keys in one store operation (retried as a whole
    /// while the store is out) and feeds the answers back as one event.
    private func claim(_ orders: [DispatchMachine.ClaimOrder], continuing: RecordID?, _ sink: Sink) async -> [Action] {
        let owner = self.configuration.owner
        let budget = self.configuration.storm
        let takeOverInDoubt = self.configuration.machine.inDoubtPolicy == .retry
        // Each claim keeps its own record's trace context (for the call-status events).
        let traces = orders.map { order in self.spanContext(order.id).flatMap { self.tracing.headers(of: $0) } }
        let claimed = await self.retrying("claiming") { () throws(StoreError) -> [ClaimResult] in
            let now = Date()
            let requests = zip(orders, traces).map { order, trace in
                let request = order.request
                return ClaimRequest(
                    key: request.idempotencyKey, requestId: request.requestId, fingerprint: request.fingerprint,
                    owner: owner, leaseDuration: self.configuration.claimLease, now: now,
                    takeOverInDoubt: takeOverInDoubt,
                    storm: budget.applies(toPriority: request.priority) ? StormClaim(called: request.called, budget: budget) : nil,
                    traceParent: trace?.traceParent, traceState: trace?.traceState)
            }
            return try await self.claims.runAll(requests)
        }
        guard let results = claimed else { return [] }
        var noted: [RecordID] = []
        var answers: [(id: RecordID, answer: ClaimAnswer)] = []
        answers.reserveCapacity(orders.count)
        for (order, result) in zip(orders, results) {
            switch result {
            case .claimed, .claimedInDoubt:
                // The claim noted the first attempt: the call follows at once.
                noted.append(order.id)
            default:
                break
            }
            answers.append((order.id, self.claimAnswer(order, result)))
        }
        if !noted.isEmpty { self.side.withLockedValue { $0.attemptNotedByClaim.formUnion(noted) } }
        return self.feed(sink, continuing: continuing) { $0.claimsAnswered(answers, now: Date()) }
    }

    /// The machine's view of the store's answer to one claim (logging what a
    /// person should know, in the record's trace context).
    private func claimAnswer(_ order: DispatchMachine.ClaimOrder, _ result: ClaimResult) -> ClaimAnswer {
        let request = order.request
        switch result {
        case .claimed:
            return .claimed
        case .completed(let record):
            return .completed(storedResult: record.result ?? [])
        case .duplicate(let record):
            return .duplicate(
                originalRequestId: record.requestId, outcome: record.outcome ?? .indeterminate,
                callSerialNo: record.callSerialNo)
        case .conflict:
            return .conflict
        case .suppressed:
            let budget = self.configuration.storm
            InstrumentationContext.withValue(self.spanContext(order.id)) {
                self.logger(for: request).notice("over the storm budget: not calling", metadata: [
                    "storm.burst": "\(budget.burst)", "storm.window": "\(budget.window)",
                ])
            }
            return .suppressed(error: budget.suppressedError)
        case .inFlight(let record):
            // Ask again when the lease ends at the latest; sooner, since the
            // holder usually finishes well before.
            let soon = Date().addingTimeInterval(1)
            return .inFlightElsewhere(retryAt: min(record.leaseExpiresAt ?? soon, soon))
        case .inDoubt(let previous, _), .claimedInDoubt(let previous, _):
            InstrumentationContext.withValue(self.spanContext(order.id)) {
                self.logger(for: request).warning("claim found in doubt: an earlier dispatch may have reached AICC", metadata: [
                    "store.previousOwner": "\(previous.owner)", LogKey.attempt: "\(previous.attempts)",
                ])
            }
            return .inDoubt
        }
    }

    private func record(_ id: RecordID, _ result: NotificationResult, attemptInDoubt: Bool, _ sink: Sink) async -> [Action] {
        let owner = self.configuration.owner
        let key = result.idempotencyKey
        let done: Bool?
        if result.outcome == .expired && !attemptInDoubt {
            // No call was placed: nothing to remember (product §4).
            done = await self.retrying("releasing") { () throws(StoreError) -> Bool in
                _ = try await self.releaseUnsent(id, key: key, requestId: result.requestId)
                return true
            }
        } else {
            self.side.withLockedValue { _ = $0.attemptNotedByClaim.remove(id) }
            let bytes = result.jsonBytes
            self.side.withLockedValue { $0.encoded[id] = (result, bytes) }
            let outcome = StoredOutcome(
                outcome: result.outcome, callSerialNo: result.callSerialNo, inDoubt: attemptInDoubt,
                attempts: result.attempts, result: bytes, completedAt: result.completedAt)
            do {
                done = try await self.retryingThrowingClaimLost("recording the outcome", key) { () throws(StoreError) -> Bool in
                    _ = try await self.outcomes.run(OutcomeRecording(key: key, requestId: result.requestId, owner: owner, outcome: outcome))
                    return true
                }
            } catch {
                self.logger(for: result).warning("claim lost before the outcome was recorded; asking the store again", metadata: [
                    LogKey.outcome: "\(result.outcome.rawValue)",
                ])
                return self.feed(sink, continuing: id) { $0.claimLost(id, now: Date()) }
            }
        }
        guard done != nil else { return [] }
        return self.feed(sink, continuing: id) { $0.outcomeRecorded(id, now: Date()) }
    }

    private func release(_ id: RecordID, _ request: NotificationRequest) async {
        _ = await self.retrying("releasing") { () throws(StoreError) -> Bool in
            try await self.releaseUnsent(id, key: request.idempotencyKey, requestId: request.requestId)
        }
    }

    /// Gives a claim back that placed no call; the first attempt its claim
    /// noted and that was never sent ends first (the store never releases a
    /// claim with a call pending).
    private func releaseUnsent(_ id: RecordID, key: String, requestId: String) async throws(StoreError) -> Bool {
        let owner = self.configuration.owner
        if self.side.withLockedValue({ $0.attemptNotedByClaim.contains(id) }) {
            do {
                try await self.store.recordAttemptEnded(key: key, owner: owner, inDoubt: false)
            } catch where error.isClaimLost {
                // Taken over meanwhile: there is nothing of ours to release.
                self.side.withLockedValue { _ = $0.attemptNotedByClaim.remove(id) }
                return false
            }
            self.side.withLockedValue { _ = $0.attemptNotedByClaim.remove(id) }
        }
        return try await self.store.releaseClaim(key: key, requestId: requestId, owner: owner)
    }

    // MARK: AICC

    /// What the `willSend` step of a call got to.
    private enum SendStep: Sendable {
        /// No attempt is noted yet: `willSend` notes one.
        case notStarted
        /// The claim noted this first attempt; not sent yet.
        case notedByClaim
        /// Noted and about to be sent (or sent).
        case started
        /// The claim was lost before sending.
        case claimLost
    }

    private func call(_ id: RecordID, _ request: NotificationRequest, attempt: Int, _ sink: Sink) async -> [Action] {
        let owner = self.configuration.owner
        let key = request.idempotencyKey
        let logger = self.logger(for: request)
        let noted = self.side.withLockedValue { $0.attemptNotedByClaim.remove(id) != nil }
        let step = NIOLockedValueBox(noted ? SendStep.notedByClaim : SendStep.notStarted)
        let notification = VoiceNotification(
            called: request.called, callerPresent: request.callerPresent, voiceContent: request.voiceContent,
            callbackURL: self.configuration.callbackURL?(request), priority: request.priority)

        let callStarted = ContinuousClock.now
        let outcome = await self.callWhileRenewingLease(notification, key: key, step: step, logger: logger)
        switch outcome {
        case .success(let accepted):
            self.metrics.aiccCall(httpStatus: accepted.answer.httpStatus, retCode: accepted.answer.retCode, duration: .now - callStarted)
        case .failure(let error) where error.delivery != .notSent:
            self.metrics.aiccCall(httpStatus: error.answer?.httpStatus, retCode: error.answer?.retCode, duration: .now - callStarted)
        case .failure:
            break  // nothing reached AICC
        }
        let sent = step.withLockedValue { $0 }
        if sent == .claimLost {
            logger.warning("claim lost before calling; asking the store again")
            return self.feed(sink, continuing: id) { $0.claimLost(id, now: Date()) }
        }

        let answer: CallAnswer
        switch outcome {
        case .success(let accepted):
            logger.debug("AICC accepted the call", metadata: [
                LogKey.attempt: "\(attempt)", LogKey.callSerialNo: "\(accepted.callSerialNo)",
            ])
            answer = .accepted(callSerialNo: accepted.callSerialNo, aicc: .init(accepted.answer))
        case .failure(let error):
            if error.code == .cancelled && Task.isCancelled { return [] }  // abandoned at shutdown
            let info = NotificationResult.ErrorInfo(code: error.code.rawValue, message: error.summary)
            logger.notice("AICC call failed", metadata: [
                LogKey.attempt: "\(attempt)", LogKey.errorCode: "\(error.code)", "aicc.class": "\(error.outcomeClass)",
            ])
            switch error.outcomeClass {
            case .accepted, .transient:
                answer = .transient(error: info, aicc: error.answer.map(NotificationResult.AICCAnswer.init))
            case .inDoubt:
                answer = .inDoubt(error: info)
            case .permanent:
                answer = .permanent(error: info, aicc: error.answer.map(NotificationResult.AICCAnswer.init))
            case .outage:
                logger.error("AICC refused the credentials (tokenByAkSk): check aicc.appKey / aicc.appSecret; pausing")
                answer = .credentialsRefused
            }
            if sent == .started || sent == .notedByClaim, error.outcomeClass != .permanent {
                // Never sent (the claim's attempt, say, ended at the token fetch): certainly no call.
                let inDoubt = sent == .started && error.outcomeClass == .inDoubt
                do {
                    _ = try await self.retryingThrowingClaimLost("ending the attempt", key) { () throws(StoreError) -> Bool in
                        try await self.store.recordAttemptEnded(key: key, owner: owner, inDoubt: inDoubt)
                        return true
                    }
                } catch {
                    return self.feed(sink, continuing: id) { $0.claimLost(id, now: Date()) }
                }
            }
        }
        return self.feed(sink, continuing: id) { $0.aiccAnswered(id, answer, now: Date(), randomUnit: Double.random(in: 0..<1)) }
    }

    /// Makes the create call; the lease renewer keeps the claim live while it is out.
    private func callWhileRenewingLease(
        _ notification: VoiceNotification, key: String, step: NIOLockedValueBox<SendStep>, logger: Logger
    ) async -> Result<VoiceNotificationAccepted, AICCError> {
        self.leases.begin(key)
        defer { self.leases.end(key) }
        return await self.create(notification, key: key, step: step, logger: logger)
    }

    private func create(
        _ notification: VoiceNotification, key: String, step: NIOLockedValueBox<SendStep>, logger: Logger
    ) async -> Result<VoiceNotificationAccepted, AICCError> {
        let willSend: @Sendable () async throws -> Void = {
            try await self.noteAttemptStarted(key: key, step: step)
        }
        do {
            let accepted = try await self.aicc.createVoiceNotification(notification, logger: logger, willSend: willSend)
            return .success(accepted)
        } catch {
            return .failure(error)
        }
    }

    /// Durable before the request leaves: a crash from here on leaves the key in doubt.
    /// The first attempt after a claim was noted with the claim: nothing to write.
    private func noteAttemptStarted(key: String, step: NIOLockedValueBox<SendStep>) async throws {
        let notedByClaim = step.withLockedValue { step -> Bool in
            guard step == .notedByClaim else { return false }
            step = .started
            return true
        }
        if notedByClaim { return }
        let owner = self.configuration.owner
        do {
            let operation: () async throws(StoreError) -> Int = { () throws(StoreError) -> Int in
                try await self.store.recordAttemptStarted(key: key, owner: owner)
            }
            _ = try await self.retryingThrowingClaimLost("noting the attempt", key, operation)
            step.withLockedValue { $0 = .started }
        } catch {
            step.withLockedValue { $0 = .claimLost }
            throw error
        }
    }

    private func probe(_ sink: Sink) async {
        var success = true
        do {
            try await self.aicc.probe(logger: self.logger)
            self.logger.info("AICC probe answered")
        } catch {
            if Task.isCancelled { return }
            success = false
            self.logger.warning("AICC probe failed; partitions stay paused", metadata: [LogKey.errorCode: "\(error.code)"])
        }
        self.feed(sink) { $0.probeAnswered(success: success, now: Date()) }
    }

    // MARK: Kafka

    private func publish(_ id: RecordID, _ payload: ResultPayload, _ sink: Sink) async -> [Action] {
        let bytes: [UInt8]
        switch payload {
        case .fresh(let result):
            let stored = self.side.withLockedValue { $0.encoded.removeValue(forKey: id) }
            bytes = stored.flatMap { $0.result == result ? $0.bytes : nil } ?? result.jsonBytes
            self.logResult(result, maskedCalled: self.side.withLockedValue { $0.arrivals[id]?.maskedCalled })
        case .stored(let stored, _):
            bytes = stored
        }
        let message = KafkaProducerMessage(
            topic: self.configuration.resultsTopic, key: payload.idempotencyKey, value: bytes, headers: self.traceHeaders(id))
        guard await self.send(message, what: "result") else { return [] }
        switch payload {
        case .fresh(let result):
            self.metrics.resultPublished(result.outcome)
            if let escalations = self.escalations, result.attributes["escalation.id"] != nil {
                await escalations.resultPublished(result)
            }
        case .stored: self.metrics.resultRepublished()
        }
        if let timestamp = self.side.withLockedValue({ $0.arrivals.removeValue(forKey: id)?.timestamp }) {
            self.metrics.endToEnd(milliseconds: Int64(Date().timeIntervalSince1970 * 1000) - timestamp)
        }
        let next = self.feed(sink, continuing: id) { $0.published(id, now: Date()) }
        self.endSpanIfFinished(id) { span in
            switch payload {
            case .fresh(let result):
                span.attributes["aicc_notify.outcome"] = result.outcome.rawValue
                if let error = result.error { span.attributes["error.type"] = error.code }
                if [.failed, .rejected, .indeterminate].contains(result.outcome) { span.setStatus(SpanStatus(code: .error)) }
            case .stored:
                span.attributes["aicc_notify.outcome"] = "republished"
            }
        }
        return next
    }

    private func deadLetter(_ id: RecordID, _ errors: [ContractError], _ sink: Sink) async -> [Action] {
        guard let original = self.side.withLockedValue({ $0.deadLetter[id] }) else {
            // Dropped by a revocation meanwhile: the next owner reads it again.
            return []
        }
        let first = errors.first
        let message = KafkaProducerMessage.deadLetter(
            of: original, to: self.configuration.deadLetterTopic, code: first?.code ?? "decode",
            message: errors.map(\.description).joined(separator: "; "), workerID: self.configuration.owner.worker,
            trace: self.traceHeaders(id))
        self.logger.notice("record dead-lettered", metadata: [
            LogKey.topic: "\(original.topic)", LogKey.partition: "\(original.partition)", LogKey.offset: "\(original.offset)",
            LogKey.errorCode: "\(first?.code ?? "decode")",
        ])
        guard await self.send(message, what: "dead-letter record") else { return [] }
        self.metrics.deadLettered(code: first?.code ?? "decode")
        self.side.withLockedValue { side in
            side.deadLetter[id] = nil
            side.arrivals[id] = nil
        }
        let next = self.feed(sink, continuing: id) { $0.published(id, now: Date()) }
        self.endSpanIfFinished(id) { span in
            span.attributes["error.type"] = first?.code ?? "decode"
            span.setStatus(SpanStatus(code: .error))
        }
        return next
    }

    /// Sends until Kafka acknowledges (retrying with backoff) or the task is
    /// cancelled. Returns whether it was acknowledged.
    private func send(_ message: KafkaProducerMessage, what: String) async -> Bool {
        await self.producer.sendRetrying(message, what: what, logger: self.logger)
    }

    // MARK: Helpers

    /// Runs a store operation until it succeeds, retrying errors with backoff
    /// (the store being out must pause work, never fail requests). Returns
    /// `nil` when cancelled (or, for an operation that can lose its claim,
    /// when it did).
    private func retrying<T: Sendable>(_ what: String, _ operation: () async throws(StoreError) -> T) async -> T? {
        let value: T?? = try? await self.retryingThrowingClaimLost(what, "", operation)
        return value ?? nil
    }

    /// ``retrying(_:_:)``, except that `store.claim.lost` is thrown: the
    /// caller must give up what it was doing for that claim.
    private func retryingThrowingClaimLost<T: Sendable>(
        _ what: String, _ subject: String, _ operation: () async throws(StoreError) -> T
    ) async throws(StoreError) -> T? {
        var backoff: Duration = .milliseconds(50)
        while !Task.isCancelled {
            do {
                return try await operation()
            } catch {
                if error.code == StoreError.claimLost("").code { throw error }
                self.logger.warning("store operation failed; retrying", metadata: [
                    "store.operation": "\(what)", LogKey.errorCode: "\(error.code)",
                ])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        return nil
    }

    private static func sleep(until date: Date) async -> Bool {
        let delay = date.timeIntervalSinceNow
        if delay > 0 {
            do {
                try await Task.sleep(for: .seconds(delay))
            } catch {
                return false
            }
        }
        return !Task.isCancelled
    }

    func logger(for request: NotificationRequest) -> Logger {
        var logger = self.logger
        logger[metadataKey: LogKey.requestID] = "\(request.requestId)"
        logger[metadataKey: LogKey.idempotencyKey] = "\(request.idempotencyKey)"
        logger[metadataKey: LogKey.called] = "\(PhoneNumberMask.mask(request.called))"
        return logger
    }

    func logger(for result: NotificationResult) -> Logger {
        var logger = self.logger
        logger[metadataKey: LogKey.requestID] = "\(result.requestId)"
        logger[metadataKey: LogKey.idempotencyKey] = "\(result.idempotencyKey)"
        logger[metadataKey: LogKey.topic] = "\(result.source.topic)"
        logger[metadataKey: LogKey.partition] = "\(result.source.partition)"
        logger[metadataKey: LogKey.offset] = "\(result.source.offset)"
        return logger
    }

    /// The one `info` line per request (product §10). Its fields are those of
    /// ``logger(for:)-(NotificationResult)`` plus the outcome, built as one
    /// metadata dictionary of plain strings: no logger copy, no interpolation
    /// (issue 25 measured this line; BENCHMARKS.md).
    private func logResult(_ result: NotificationResult, maskedCalled: String?) {
        guard self.logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = [
            LogKey.requestID: .string(result.requestId),
            LogKey.idempotencyKey: .string(result.idempotencyKey),
            LogKey.topic: .string(result.source.topic),
            LogKey.partition: .string(String(result.source.partition)),
            LogKey.offset: .string(String(result.source.offset)),
            LogKey.outcome: .string(result.outcome.rawValue),
            LogKey.attempt: .string(String(result.attempts)),
        ]
        if let maskedCalled { metadata[LogKey.called] = .string(maskedCalled) }
        if let serial = result.callSerialNo { metadata[LogKey.callSerialNo] = .string(serial) }
        if let error = result.error { metadata[LogKey.errorCode] = .string(error.code) }
        self.logger.info("result", metadata: metadata)
    }
}

extension DispatchMachine.Action {
    /// The record whose step this is (claim, call, outcome, release,
    /// publication); `nil` for the loop's own actions.
    var recordStep: RecordID? {
        switch self {
        case .claim(let id, _), .callAICC(let id, _, _), .recordOutcome(let id, _, _), .releaseClaim(let id, _),
             .publishResult(let id, _), .publishDeadLetter(let id, _):
            id
        case .claims, .scheduleRetry, .scheduleProbe, .sendProbe, .pause, .resume, .commit:
            nil
        }
    }
}

extension NotificationResult.AICCAnswer {
    init(_ answer: AICCAnswer) {
        self.init(httpStatus: answer.httpStatus, retCode: answer.retCode, retMsg: answer.retMsg)
    }
}

extension Duration {
    var seconds: TimeInterval {
        let (seconds, attoseconds) = self.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
