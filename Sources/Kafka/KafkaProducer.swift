import CRDKafka
public import Logging
import NIOConcurrencyHelpers
public import ServiceLifecycle

/// Produces records and reports, for each, where the broker stored it.
///
/// `send` suspends until librdkafka's delivery report arrives: it returns the
/// record's partition and offset, or throws a ``KafkaError`` (retriable ones
/// such as `kafka.msg_timed_out` when the brokers stayed unreachable for the
/// delivery timeout). A send never succeeds without an offset.
///
/// The producer is a `Service`: ``run()`` serves librdkafka's event queue on a
/// thread of its own and must be running for sends to complete. On graceful
/// shutdown it stops accepting sends, waits up to
/// ``KafkaProducerConfiguration/flushTimeout`` for outstanding deliveries, and
/// fails whatever is left with `kafka.shutdown` (never silently).
public final class KafkaProducer: Service, Sendable {
    private struct State {
        enum Phase { case running, draining, closed }
        var phase: Phase = .running
        var nextID: UInt = 1
        var pending: [UInt: CheckedContinuation<KafkaDeliveryReport, any Error>] = [:]
    }

    private let client: RDKafkaClient
    private let configuration: KafkaProducerConfiguration
    private let state = NIOLockedValueBox(State())
    private let logger: Logger

    /// Creates the producer. Throws `kafka.config.invalid` naming the property
    /// that librdkafka rejected.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        self.client = try RDKafkaClient(
            kind: .producer,
            properties: configuration.rdKafkaProperties,
            events: RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR,
            logger: logger
        )
    }

    /// Sends one record and returns its delivery report.
    ///
    /// When librdkafka's local queue is full the send waits for room rather
    /// than failing. Throws ``KafkaError``; `kafka.shutdown` if the producer is
    /// shutting down.
    public func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        var backoff: Duration = .milliseconds(1)
        while true {
            do {
                return try await self.enqueue(message)
            } catch let error as KafkaError where error.rdKafkaCode == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue {
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .milliseconds(100))
            }
        }
    }

    private func enqueue(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        try await withCheckedThrowingContinuation { continuation in
            let id: UInt? = self.state.withLockedValue { state in
                guard state.phase == .running else { return nil }
                let id = state.nextID
                state.nextID += 1
                state.pending[id] = continuation
                return id
            }
            guard let id else {
                continuation.resume(throwing: KafkaError.shutDown("producer is shutting down"))
                return
            }
            if let error = RDKafkaProduce.produce(handle: self.client.handle, message: message, opaque: id) {
                let continuation = self.state.withLockedValue { $0.pending.removeValue(forKey: id) }
                continuation?.resume(throwing: error)
            }
        }
    }

    /// Asks for the partitions of ``KafkaProducerConfiguration/topicsToPrepare``
    /// (best effort), then serves delivery reports until graceful shutdown,
    /// then drains.
    public func run() async throws {
        await self.prepareTopics()
        try await self.client.serveEventQueue(onGracefulShutdown: { [self] in self.triggerGracefulShutdown() }) { [self] queue in
            self.pollLoop(queue: queue)
        }
    }

    /// Stops accepting sends and lets ``run()`` drain and return.
    public func triggerGracefulShutdown() {
        self.state.withLockedValue { state in
            if state.phase == .running { state.phase = .draining }
        }
    }

    /// The value librdkafka uses for a configuration property, e.g.
    /// `linger.ms` (`nil` for a name it does not know): what the typed
    /// settings and the pass-through properties came to.
    public func configurationValue(_ name: String) -> String? {
        self.client.configurationValue(name)
    }

    /// The partition ids of `topic`, asked of the brokers (a blocking call,
    /// run on the blocking pool). Asking before the first send spares that
    /// send librdkafka's own metadata round for a topic the producer has not
    /// seen, which holds the first records ~1 s (librdkafka 2.0.2, measured on
    /// the mock cluster). Throws `kafka.shutdown` once ``run()`` has ended;
    /// the end of ``run()`` waits for a call under way.
    public func partitions(of topic: String, timeout: Duration = .seconds(10)) async throws -> [Int32] {
        let client = self.client
        let milliseconds = Int32(clamping: timeout.milliseconds)
        return try await BlockingLoop.run { () throws -> [Int32] in
            try client.partitions(of: topic, timeoutMilliseconds: milliseconds)
        }
    }

    /// Asks for each topic to prepare, one after another. A topic's own error
    /// (unknown, no leader yet) skips that topic; no broker answering within
    /// 1 s, or cancellation, ends the asking (at start, a broker that does not
    /// answer one will not answer the next).
    private func prepareTopics() async {
        for topic in self.configuration.topicsToPrepare {
            if Task.isCancelled { return }
            do {
                let partitions = try await self.partitions(of: topic, timeout: .seconds(1))
                self.logger.debug("producer prepared topic", metadata: ["kafka.topic": "\(topic)", "kafka.partitions": "\(partitions.count)"])
            } catch {
                self.logger.debug("producer could not prepare topic", metadata: ["kafka.topic": "\(topic)", "error.message": "\(error)"])
                if let error = error as? KafkaError, let code = error.rdKafkaCode, Self.endsPreparation.contains(code) { return }
            }
        }
    }

    /// librdkafka's errors that say no broker answers: preparing the next
    /// topic would only wait as long again.
    private static let endsPreparation: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue, RD_KAFKA_RESP_ERR__TRANSPORT.rawValue,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue, RD_KAFKA_RESP_ERR__DESTROY.rawValue,
    ]

    /// Records enqueued in librdkafka and not yet acknowledged.
    public var outstandingCount: Int {
        self.state.withLockedValue { $0.pending.count }
    }

    private func pollLoop(queue: SendableOpaquePointer) {
        let clock = ContinuousClock()
        var drainDeadline: ContinuousClock.Instant?
        while true {
            if let event = rd_kafka_queue_poll(queue.pointer, 100) {
                self.handle(event: event)
                rd_kafka_event_destroy(event)
            }
            let (phase, pendingCount) = self.state.withLockedValue { ($0.phase, $0.pending.count) }
            guard phase != .running else { continue }
            if drainDeadline == nil {
                drainDeadline = clock.now + self.configuration.flushTimeout
                self.logger.debug("producer draining", metadata: ["kafka.outstanding": "\(pendingCount)"])
            }
            if pendingCount == 0 && rd_kafka_outq_len(self.client.handle) == 0 { break }
            if clock.now >= drainDeadline! { break }
        }
        let abandoned = self.state.withLockedValue { state in
            state.phase = .closed
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        if !abandoned.isEmpty {
            self.logger.error(
                "producer shut down with undelivered records",
                metadata: ["kafka.outstanding": "\(abandoned.count)"]
            )
        }
        for continuation in abandoned {
            continuation.resume(throwing: KafkaError.shutDown("producer shut down before the broker acknowledged the record"))
        }
        rd_kafka_queue_destroy(queue.pointer)
        self.client.destroy()
    }

    private func handle(event: OpaquePointer) {
        switch rd_kafka_event_type(event) {
        case RD_KAFKA_EVENT_DR:
            while let message = rd_kafka_event_message_next(event) {
                self.handle(deliveryReport: message)
            }
        case RD_KAFKA_EVENT_ERROR:
            let error = KafkaError(rdKafka: rd_kafka_event_error(event), context: String(cString: rd_kafka_event_error_string(event)))
            if rd_kafka_event_error_is_fatal(event) != 0 {
                self.logger.critical("fatal Kafka producer error", metadata: ["error.code": "\(error.code)", "error.message": "\(error.message)"])
            } else {
                self.logger.warning("Kafka producer error", metadata: ["error.code": "\(error.code)", "error.message": "\(error.message)"])
            }
        default:
            break
        }
    }

    private func handle(deliveryReport message: UnsafePointer<rd_kafka_message_t>) {
        let id = UInt(bitPattern: message.pointee._private)
        guard let continuation = self.state.withLockedValue({ $0.pending.removeValue(forKey: id) }) else {
            self.logger.error("delivery report for an unknown record", metadata: ["kafka.opaque": "\(id)"])
            return
        }
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
        let err = message.pointee.err
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            continuation.resume(throwing: KafkaError(rdKafka: err, context: "delivery to \(topic)"))
        } else if message.pointee.offset < 0 {
            continuation.resume(throwing: KafkaError(
                code: "kafka.delivery.unconfirmed",
                message: "broker acknowledged the record to \(topic) without an offset (acks=0?)"
            ))
        } else {
            continuation.resume(returning: KafkaDeliveryReport(
                topic: topic,
                partition: message.pointee.partition,
                offset: message.pointee.offset
            ))
        }
    }
}
