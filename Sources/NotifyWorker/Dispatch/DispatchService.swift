public import AICC
import CoreMetrics
import Foundation
public import Kafka
public import Logging
import NIOConcurrencyHelpers
import NotifyCore
public import NotifyStore
public import NotifyTracing
public import ServiceLifecycle
import Tracing

/// The worker's pipeline (product §4): consume → decode and validate → claim
/// in the idempotency store → call AICC → record the outcome → publish the
/// result → commit the input offset.
///
/// The decisions are ``DispatchMachine``'s, a pure state machine held in a
/// lock; this service feeds it events and performs the actions it returns
/// as child tasks of one task group inside ``run()`` (no unstructured
/// tasks), and feeds every answer back. The machine's own quick effects —
/// pausing and resuming partitions, handing positions to the committer — run
/// inside the lock so they happen in the order the machine decided them.
///
/// Batches (issue 25): what one poll of the consumer returns goes into the
/// machine as one event; the loop takes every action queued since it last
/// looked (``ActionMailbox``) and starts one task for all of its claims. A
/// record's later steps stay in the task that performed the step before
/// (claim → call → outcome → result): the machine's next action for the same
/// record is performed there, not handed back to the loop as a new task.
///
/// `run()` also runs the consumer (it owns its events), so shutdown happens in
/// the right order: on graceful shutdown it stops taking work and pauses every
/// partition, lets in-flight records finish for up to
/// ``Configuration/drainTimeout``, commits, then closes the consumer (which
/// revokes the partitions and leaves the group). Records still unfinished are
/// abandoned: their claims stay in the store, so the next owner finds them. The
/// producer and the store must outlive this service (start them before it in
/// the `ServiceGroup`).
public final class DispatchService: Service, Sendable {
    typealias Action = DispatchMachine.Action
    typealias Sink = ActionMailbox

    /// What the dispatch loop keeps beside the machine.
    struct SideState {
        /// Raw records bound for the dead-letter topic (value and headers untouched).
        var deadLetter: [RecordID: KafkaConsumerMessage] = [:]
        /// When a graceful shutdown stops waiting for in-flight work.
        var drainDeadline: ContinuousClock.Instant?
        /// The partitions this member owns now.
        var assigned: Set<KafkaTopicPartition> = []
        /// The group has answered this member with an assignment (maybe an
        /// empty one) since it (re)joined: it is a member, idle or not.
        var joined = false
        /// The partitions paused now.
        var paused: Set<TopicPartition> = []
        /// What the result's way out needs of a record, until its result is out.
        var arrivals: [RecordID: Arrival] = [:]
        /// Each record's processing span (product §11), until its last
        /// result or dead-letter record is out.
        var spans: [RecordID: any Span] = [:]
        /// A result as encoded for the store, until it is published: the
        /// event carries the very bytes stored (and a redelivery republishes),
        /// encoded once.
        var encoded: [RecordID: (result: NotificationResult, bytes: [UInt8])] = [:]
        /// Records whose claim was also their first attempt's start (the
        /// store noted it with the claim), until that attempt is sent or
        /// ended: the first create call writes nothing more before it goes,
        /// and a claim given back unsent ends the attempt first.
        var attemptNotedByClaim: Set<RecordID> = []

        /// A record's Kafka timestamp (ms since the epoch, for the end-to-end
        /// latency) and its masked called number (for the `result` log line).
        struct Arrival {
            var timestamp: Int64?
            var maskedCalled: String?
        }
    }

    /// The settings.
    public let configuration: Configuration

    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let store: any IdempotencyStore
    let aicc: AICCClient
    let logger: Logger
    let decoder: RequestDecoder
    let machine: NIOLockedValueBox<DispatchMachine>
    let side = NIOLockedValueBox(SideState())
    let committer: OffsetCommitter
    /// Renews the leases of the claims whose call is out.
    let leases: LeaseRenewer
    /// Claims that arrive together go to the store as one batch.
    let claims: StoreBatcher<ClaimRequest, ClaimResult>
    /// Outcomes that arrive together go to the store as one batch.
    let outcomes: StoreBatcher<OutcomeRecording, StoredRecord>
    let metrics: WorkerMetrics
    let tracing: WorkerTracing
    /// Escalation (product §12), with a route that escalates: told of each
    /// result of an escalation's request.
    let escalations: EscalationService?

    /// Creates the service. `consumer` must be subscribed to the requests
    /// topic and not yet running; this service runs it.
    public init(
        configuration: Configuration, consumer: KafkaConsumer, producer: KafkaProducer, store: any IdempotencyStore,
        aicc: AICCClient, metrics: WorkerMetrics, tracing: WorkerTracing = .propagatingOnly,
        escalations: EscalationService? = nil, logger: Logger
    ) {
        self.escalations = escalations
        self.metrics = metrics
        self.tracing = tracing
        self.configuration = configuration
        self.decoder = RequestDecoder(configuration: configuration.decoder)
        self.consumer = consumer
        self.producer = producer
        self.store = store
        self.aicc = aicc
        var logger = logger
        logger[metadataKey: LogKey.workerID] = "\(configuration.owner.worker)"
        self.logger = logger
        self.machine = NIOLockedValueBox(DispatchMachine(configuration: configuration.machine))
        self.committer = OffsetCommitter(consumer: consumer, logger: logger)
        self.claims = StoreBatcher { requests throws(StoreError) in try await store.claim(batch: requests).map { .success($0) } }
        self.outcomes = StoreBatcher { recordings throws(StoreError) in try await store.recordOutcomes(recordings) }
        self.leases = LeaseRenewer(store: store, owner: configuration.owner, lease: configuration.claimLease, logger: logger)
    }

    /// Whether AICC is considered out (the breaker is open): report not ready.
    public var isOutage: Bool { self.machine.withLockedValue { $0.isOutage } }

    /// Whether this member owns partitions now.
    public var hasAssignment: Bool { self.side.withLockedValue { !$0.assigned.isEmpty } }

    /// Whether this member is in the group: it owns partitions, or the group
    /// assigned it none because there are more members than partitions (an
    /// idle member, ready to take over) — product §8's "or an idle group".
    /// `false` before the first assignment and after the assignment was lost.
    public var isGroupMember: Bool { self.side.withLockedValue { !$0.assigned.isEmpty || $0.joined } }

    /// Records in the worker, not yet finished (parked ones included).
    public var inFlight: Int { self.machine.withLockedValue { $0.inFlight } }

    // MARK: The loop

    /// Runs the consumer and the pipeline until graceful shutdown (or until
    /// the consumer fails fatally, which is thrown).
    public func run() async throws {
        let sink = ActionMailbox()
        self.logger.info("dispatch starting", metadata: [LogKey.incarnation: "\(self.configuration.owner.incarnation)"])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.consumer.run() }
            group.addTask { await self.committer.run() }
            group.addTask { await self.leases.run() }
            group.addTask {
                defer { sink.finish() }
                try await self.consumeEvents(sink)
            }
            group.addTask { await self.drainOnShutdown(sink) }
            group.addTask { await self.updateGauges() }
            while let batch = await sink.next() {
                for action in DispatchMachine.coalesced(batch) {
                    self.perform(action, sink, in: &group)
                }
            }
            // The consumer has closed: abandon what is left (timers, calls past the bound).
            group.cancelAll()
        }
        self.endSpans { _ in true }
        self.logger.info("dispatch stopped")
    }

    private func consumeEvents(_ sink: Sink) async throws {
        for await event in self.consumer.events {
            switch event {
            case .messages(let messages):
                self.received(messages, sink)
            case .partitionsAssigned(let partitions):
                self.logger.info("partitions assigned", metadata: [LogKey.partitions: "\(partitions)"])
                self.committer.assigned(partitions)
                self.side.withLockedValue { side in
                    side.assigned.formUnion(partitions)
                    side.joined = true
                }
                self.feed(sink) { $0.partitionsAssigned(partitions.map(TopicPartition.init)) }
            case .partitionsRevoked(let revocation):
                await self.revoke(revocation, sink)
            case .error(let error):
                if error.isFatal {
                    self.logger.critical("Kafka consumer failed", metadata: [LogKey.errorCode: "\(error.code)"])
                    throw error
                }
                self.logger.warning("Kafka consumer error (librdkafka retries)", metadata: [LogKey.errorCode: "\(error.code)"])
            }
        }
    }

    /// What one poll returned: decoded, given spans, then into the machine as one event.
    private func received(_ messages: [KafkaConsumerMessage], _ sink: Sink) {
        var records: [DispatchRecord] = []
        records.reserveCapacity(messages.count)
        var arrivals: [(id: RecordID, message: KafkaConsumerMessage, decoded: DecodeResult, span: any Span)] = []
        arrivals.reserveCapacity(messages.count)
        for message in messages {
            let id = RecordID(partition: TopicPartition(message.topicPartition), offset: message.offset)
            let headers = message.headers.map { (key: $0.key, value: $0.value) }
            let decoded = self.decoder.decode(InboundRecord(value: message.value, headers: headers))
            let span = self.startSpan(message, headers: headers, decoded: decoded)
            if decoded.kind != .valid { self.logInvalid(message, decoded, span: span) }
            arrivals.append((id, message, decoded, span))
            records.append(DispatchRecord(id: id, key: message.key, decoded: decoded))
        }
        self.side.withLockedValue { side in
            for arrival in arrivals {
                side.spans[arrival.id] = arrival.span
                if arrival.decoded.shouldDeadLetter { side.deadLetter[arrival.id] = arrival.message }
                side.arrivals[arrival.id] = SideState.Arrival(
                    timestamp: arrival.message.timestampMilliseconds,
                    maskedCalled: arrival.decoded.request.map { PhoneNumberMask.mask($0.called) })
            }
        }
        self.feed(sink) { $0.recordsReceived(records, now: Date()) }
    }

    private func logInvalid(_ message: KafkaConsumerMessage, _ decoded: DecodeResult, span: any Span) {
        InstrumentationContext.withValue(span.context) {
            var logger = self.logger
            logger[metadataKey: LogKey.topic] = "\(message.topic)"
            logger[metadataKey: LogKey.partition] = "\(message.partition)"
            logger[metadataKey: LogKey.offset] = "\(message.offset)"
            if let requestId = decoded.requestId { logger[metadataKey: LogKey.requestID] = "\(requestId)" }
            logger.notice("invalid request", metadata: [
                LogKey.errorCode: "\(decoded.errors.first?.code ?? "validation")",
                LogKey.errorMessage: "\(decoded.errors.first?.message ?? "")",
            ])
        }
    }

    /// Finishes (within the bound) or abandons in-flight work of revoked
    /// partitions, commits, then lets the consumer give them up.
    private func revoke(_ revocation: KafkaRevocation, _ sink: Sink) async {
        let kafkaPartitions = revocation.partitions
        let partitions = kafkaPartitions.map(TopicPartition.init)
        self.side.withLockedValue { $0.assigned.subtract(kafkaPartitions) }
        self.logger.info("partitions revoked", metadata: [
            LogKey.partitions: "\(kafkaPartitions)", "kafka.lost": "\(revocation.isLost)",
        ])
        if revocation.isLost {
            self.side.withLockedValue { side in
                side.joined = false
                side.deadLetter = side.deadLetter.filter { !partitions.contains($0.key.partition) }
                side.arrivals = side.arrivals.filter { !partitions.contains($0.key.partition) }
                side.encoded = side.encoded.filter { !partitions.contains($0.key.partition) }
                side.attemptNotedByClaim = side.attemptNotedByClaim.filter { !partitions.contains($0.partition) }
            }
            self.endSpans { partitions.contains($0.partition) }
            // Another member may own them already: commit nothing, drop everything.
            self.committer.revoked(kafkaPartitions)
            self.feed(sink) { $0.partitionsRevoked(partitions, now: Date()) }
            revocation.acknowledge()
            return
        }
        self.feed(sink) { $0.revocationStarted(partitions) }
        var deadline = ContinuousClock.now + self.configuration.drainTimeout
        if let shutdownDeadline = self.side.withLockedValue({ $0.drainDeadline }) { deadline = min(deadline, shutdownDeadline) }
        await self.waitUntilDrained(partitions, deadline: deadline)
        self.feed(sink) { $0.partitionsRevoked(partitions, now: Date()) }
        await self.committer.flush(kafkaPartitions, timeout: .seconds(5))
        self.committer.revoked(kafkaPartitions)
        self.side.withLockedValue { side in
            side.deadLetter = side.deadLetter.filter { !partitions.contains($0.key.partition) }
            side.arrivals = side.arrivals.filter { !partitions.contains($0.key.partition) }
            side.encoded = side.encoded.filter { !partitions.contains($0.key.partition) }
            side.paused.subtract(partitions)
        }
        self.endSpans { partitions.contains($0.partition) }
        revocation.acknowledge()
    }

    /// On graceful shutdown: no new work, pause everything, drain within the
    /// bound, then close the consumer (its revocation commits and leaves the group).
    private func drainOnShutdown(_ sink: Sink) async {
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled: the loop ended for another reason
        }
        let deadline = ContinuousClock.now + self.configuration.drainTimeout
        self.side.withLockedValue { $0.drainDeadline = deadline }
        self.logger.info("graceful shutdown: finishing in-flight records", metadata: [LogKey.inFlight: "\(self.inFlight)"])
        self.feed(sink) { $0.shutdownRequested() }
        await self.waitUntilDrained(nil, deadline: deadline)
        let left = self.machine.withLockedValue { $0.inProgress(in: nil) }
        if left > 0 {
            self.logger.warning("graceful shutdown: abandoning unfinished records (their claims stay in the store)", metadata: [LogKey.inFlight: "\(left)"])
        }
        self.consumer.triggerGracefulShutdown()
    }

    /// Keeps the gauges current (once a second) until cancelled.
    private func updateGauges() async {
        let started = ContinuousClock.now
        var nextGroupNotice = started
        while !Task.isCancelled {
            // Group-join progress at info: a restarted member can wait for the
            // group's rebalance (the coordinator waits up to session.timeout.ms
            // for the member it lost); say so rather than look stuck.
            let now = ContinuousClock.now
            if !self.side.withLockedValue({ $0.joined }), now >= nextGroupNotice {
                if now == started || now - started < .seconds(1) {
                    self.logger.info("joining the consumer group")
                } else {
                    self.logger.info("still waiting for the consumer group's assignment", metadata: [
                        "kafka.waited": "\((now - started).components.seconds) s",
                        "kafka.hint": "a rebalance waits up to session.timeout.ms for members it lost (librdkafka default 45 s)",
                    ])
                }
                nextGroupNotice = now + .seconds(10)
            }
            let (inFlight, outage) = self.machine.withLockedValue { ($0.inFlight, $0.isOutage) }
            self.metrics.inFlight.record(inFlight)
            self.metrics.outage.record(outage ? 1 : 0)
            self.metrics.pausedPartitions.record(self.side.withLockedValue { $0.paused.count })
            // Lag: from the last committed position to the end librdkafka last saw.
            var lag: Int64 = 0
            for (partition, committed) in self.committer.committedPositions {
                if let high = self.consumer.cachedHighWatermark(partition), high > committed { lag += high - committed }
            }
            self.metrics.consumerLag.record(lag)
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func waitUntilDrained(_ partitions: [TopicPartition]?, deadline: ContinuousClock.Instant) async {
        while ContinuousClock.now < deadline, !Task.isCancelled {
            let left = self.machine.withLockedValue { $0.inProgress(in: partitions.map(Set.init)) }
            if left == 0 { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    // MARK: Feeding the machine

    /// Applies an event to the machine; performs its quick effects (pause,
    /// resume, commit) in the lock, in order; posts the rest to the loop —
    /// except, when `continuing` names a record, that record's next steps,
    /// which are returned for the calling task to perform itself.
    @discardableResult
    func feed(_ sink: Sink, continuing: RecordID? = nil, _ event: (inout DispatchMachine) -> [Action]) -> [Action] {
        let (mine, rest): ([Action], [Action]) = self.machine.withLockedValue { machine in
            let actions = event(&machine)
            guard !actions.isEmpty else { return ([], []) }
            var mine: [Action] = []
            var rest: [Action] = []
            rest.reserveCapacity(actions.count)
            for action in actions {
                switch action {
                case .pause(let partitions):
                    self.setPaused(partitions, true)
                case .resume(let partitions):
                    self.setPaused(partitions, false)
                case .commit(let positions):
                    self.committer.submit(positions.map(KafkaCommitPosition.init))
                default:
                    if let continuing, action.recordStep == continuing { mine.append(action) } else { rest.append(action) }
                }
            }
            return (mine, rest)
        }
        sink.post(rest)
        return mine
    }

    private func setPaused(_ partitions: [TopicPartition], _ paused: Bool) {
        let kafka: [KafkaTopicPartition] = partitions.map { KafkaTopicPartition(topic: $0.topic, partition: $0.partition) }
        do {
            self.side.withLockedValue { side in
                if paused { side.paused.formUnion(partitions) } else { side.paused.subtract(partitions) }
            }
            if paused {
                try self.consumer.pause(kafka)
                self.logger.info("partitions paused", metadata: [LogKey.partitions: "\(kafka)"])
            } else {
                try self.consumer.resume(kafka)
                self.logger.info("partitions resumed", metadata: [LogKey.partitions: "\(kafka)"])
            }
        } catch {
            // A partition revoked meanwhile: nothing to pause any more.
            self.logger.debug("pause/resume refused", metadata: [LogKey.errorCode: "\((error as? KafkaError)?.code ?? "kafka.unknown")"])
        }
    }
}

extension KafkaCommitPosition {
    init(_ position: CommitPosition) {
        self.init(topic: position.partition.topic, partition: position.partition.partition, offset: position.offset)
    }
}

extension TopicPartition {
    init(_ partition: KafkaTopicPartition) {
        self.init(topic: partition.topic, partition: partition.partition)
    }
}
