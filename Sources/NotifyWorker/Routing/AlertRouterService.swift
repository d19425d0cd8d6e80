import Foundation
public import Kafka
public import Logging
import NotifyCore
public import NotifyRouting
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

    public init(
        configuration: Configuration, router: Router, consumer: KafkaConsumer, producer: KafkaProducer,
        metrics: WorkerMetrics, logger: Logger
    ) {
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
                case .message(let message):
                    await self.handle(message)
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

    private func handle(_ message: KafkaConsumerMessage) async {
        var logger = self.logger
        logger[metadataKey: LogKey.topic] = "\(message.topic)"
        logger[metadataKey: LogKey.partition] = "\(message.partition)"
        logger[metadataKey: LogKey.offset] = "\(message.offset)"
        let recordTime = message.timestampMilliseconds.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? Date()
        var produced: [KafkaProducerMessage] = []
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
                    let trace = TraceHeaders.kafka(message.headers.map { (key: $0.key, value: $0.value) })?
                        .kafkaHeaders.map { KafkaHeader(key: $0.key, value: $0.value) } ?? []
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
        do {
            try await self.consumer.commit([KafkaCommitPosition(topic: message.topic, partition: message.partition, offset: message.offset + 1)])
        } catch {
            // Read again after a rebalance: the same requests again, which ring nobody twice.
            logger.warning("committing an alert record failed", metadata: [LogKey.errorCode: "\((error as? KafkaError)?.code ?? "kafka.unknown")"])
        }
    }
}
