import Foundation
public import Kafka
import NIOConcurrencyHelpers
public import Logging
import NotifyCore
public import NotifyRouting
import NotifyStore
import NotifyTracing
public import ServiceLifecycle

/// Alert routing in the worker (product §9): consumes `kafka.topics.alerts`
/// in the worker's consumer group and turns each firing alert into
/// notification-requests on the requests topic, where they follow §4 like any
/// other request. A `Service`.
///
/// One record at a time: every request it makes is produced and acknowledged
/// by Kafka before the record's offset is committed, so nothing rings before
/// the request is durably in Kafka, and a crash between the two only makes
/// the same requests again (deterministic `requestId`/`idempotencyKey`: the
/// dispatch republishes their stored results, nobody is called twice).
/// Resolved and unmatched alerts make no request (counted, logged); a record
/// that is not an alert goes to the dead-letter topic with the reason.
public final class AlertRouterService: Service, Sendable, CustomStringConvertible {
    /// Where requests and dead letters go.
    public struct Configuration: Sendable {
        /// `kafka.topics.requests`.
        public var requestsTopic: String
        /// `kafka.topics.deadLetter`.
        public var deadLetterTopic: String
        /// `worker.id`, for the `dlq.worker.id` header.
        public var workerID: String

        public init(requestsTopic: String, deadLetterTopic: String, workerID: String) {
            self.requestsTopic = requestsTopic
            self.deadLetterTopic = deadLetterTopic
            self.workerID = workerID
        }
    }

    let configuration: Configuration
    let router: Router
    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let metrics: WorkerMetrics
    let logger: Logger
    /// Escalation (product §12), with a route that escalates.
    let escalations: EscalationService?
    /// Per partition, the offset after the last record this process handled
    /// (its requests acknowledged by Kafka), committed or not. A commit can
    /// fail in a rebalance (the worker's two consumers share a group, so the
    /// dispatch consumer joining rebalances this one); the records Kafka then
    /// delivers again were handled already and are skipped (the next record
    /// handled commits past them). Only `run()` touches it.
    private let handled = NIOLockedValueBox<[KafkaTopicPartition: Int64]>([:])

    public init(
        configuration: Configuration, router: Router, consumer: KafkaConsumer, producer: KafkaProducer,
        escalations: EscalationService? = nil, metrics: WorkerMetrics, logger: Logger
    ) {
        self.escalations = escalations
        self.configuration = configuration
        self.router = router
        self.consumer = consumer
        self.producer = producer
        self.metrics = metrics
        self.logger = logger
    }

    public var description: String { "AlertRouterService" }

    public func run() async throws {
        self.logger.info("alert routing starting", metadata: ["routing.routes": "\(self.router.rules.routes.count)"])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.consumer.run() }
            for await event in self.consumer.events {
                switch event {
                case .messages(let messages):
                    for message in messages {
                        if let next = self.handled.withLockedValue({ $0[message.topicPartition] }), message.offset < next {
                            continue  // handled by this process already; its commit failed in a rebalance
                        }
                        await self.handle(message)
                    }
                case .partitionsAssigned(let partitions):
                    self.logger.info("alert partitions assigned", metadata: [LogKey.partitions: "\(partitions)"])
                case .partitionsRevoked(let revocation):
                    // Records are handled one at a time, each committed when done: nothing to drain.
                    revocation.acknowledge()
                case .error(let error):
                    if error.isFatal {
                        self.logger.critical("Kafka consumer of alerts failed", metadata: [LogKey.errorCode: "\(error.code)"])
                        throw error
                    }
                    self.logger.warning("Kafka consumer error (librdkafka retries)", metadata: [LogKey.errorCode: "\(error.code)"])
                }
            }
        }
        self.logger.info("alert routing stopped")
    }

    /// Runs `operation` until it succeeds, with backoff; false when cancelled.
    static func retrying(logger: Logger, _ operation: () async throws(StoreError) -> Void) async -> Bool {
        var backoff: Duration = .milliseconds(100)
        while !Task.isCancelled {
            do throws(StoreError) {
                try await operation()
                return true
            } catch {
                logger.warning("escalation: store unavailable; retrying", metadata: [LogKey.errorCode: "\(error.code)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        return false
    }

    private func handle(_ message: KafkaConsumerMessage) async {
        var logger = self.logger
        logger[metadataKey: LogKey.topic] = "\(message.topic)"
        logger[metadataKey: LogKey.partition] = "\(message.partition)"
        logger[metadataKey: LogKey.offset] = "\(message.offset)"
        let recordTime = message.timestampMilliseconds.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? Date()
        var produced: [KafkaProducerMessage] = []
        // What escalation learns of the record once its requests are in Kafka.
        var seen: [(alert: Alert, requests: [RoutedRequest], trace: TraceHeaders?)] = []
        switch AlertRecord.decode(value: message.value, headers: message.headers.map { (key: $0.key, value: $0.value) }) {
        case .notAlerts(let code, let reason):
            logger.notice("not an alert record: dead-lettered", metadata: [LogKey.errorCode: "\(code)", LogKey.errorMessage: "\(reason)"])
            self.metrics.alertRouted(.invalid)
            let dead = KafkaProducerMessage.deadLetter(
                of: message, to: self.configuration.deadLetterTopic, code: code, message: reason, workerID: self.configuration.workerID)
            guard await self.producer.sendRetrying(dead, what: "dead-letter record", logger: logger) else { return }
            self.metrics.deadLettered(code: code)
        case .alerts(let alerts):
            for alert in alerts {
                var alertLogger = logger
                alertLogger[metadataKey: "alert.name"] = "\(alert.labels["alertname"] ?? "")"
                alertLogger[metadataKey: "alert.fingerprint"] = "\(alert.identity)"
                switch self.router.route(alert, recordTime: recordTime) {
                case .resolved:
                    self.metrics.alertRouted(.resolved)
                    alertLogger.info("alert resolved: nobody is called")
                    seen.append((alert, [], nil))
                case .unmatched:
                    self.metrics.alertRouted(.unmatched)
                    alertLogger.notice("alert matched no route: nobody is called")
                case .routed(let requests):
                    self.metrics.alertRouted(.routed)
                    alertLogger.info("alert routed", metadata: [
                        "routing.route": "\(requests.first?.attributes["route"] ?? "")", "routing.requests": "\(requests.count)",
                    ])
                    // The alert's trace context (W3C or CloudEvents headers)
                    // goes on with its requests: one trace from the alert's
                    // producer to the call status (product §11).
                    let context = TraceHeaders.kafka(message.headers.map { (key: $0.key, value: $0.value) })
                    let trace = context?.kafkaHeaders.map { KafkaHeader(key: $0.key, value: $0.value) } ?? []
                    seen.append((alert, requests, context))
                    produced += requests.map {
                        KafkaProducerMessage(
                            topic: self.configuration.requestsTopic, key: $0.idempotencyKey, value: $0.json, headers: trace)
                    }
                }
            }
        }
        // Every request acknowledged, then the offset: nothing rings before it is in Kafka.
        let requests = produced
        let producerLogger = logger
        let sent = await withTaskGroup(of: Bool.self) { group in
            for request in requests {
                group.addTask { await self.producer.sendRetrying(request, what: "routed request", logger: producerLogger) }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        guard sent else { return }  // shutting down: the next owner reads the record again
        if let escalations = self.escalations {
            // Started (or ended) in the store before the offset is committed:
            // a crash before it reads the record again, which starts nothing twice.
            for entry in seen {
                guard await Self.retrying(logger: logger, { () throws(StoreError) in
                    try await escalations.alertSeen(entry.alert, requests: entry.requests, trace: entry.trace, now: Date())
                }) else { return }
            }
        }
        self.handled.withLockedValue { $0[message.topicPartition] = message.offset + 1 }
        do {
            try await self.consumer.commit([KafkaCommitPosition(topic: message.topic, partition: message.partition, offset: message.offset + 1)])
        } catch {
            // Read again after a rebalance: the same requests again, which ring nobody twice.
            logger.warning("committing an alert record failed", metadata: [LogKey.errorCode: "\((error as? KafkaError)?.code ?? "kafka.unknown")"])
        }
    }
}
