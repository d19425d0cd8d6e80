import CRDKafka
public import Logging
import NIOConcurrencyHelpers
import NIOCore
public import ServiceLifecycle

/// A member of a balanced consumer group with manual offset management.
///
/// - Records, assignments and revocations arrive in order on ``events``.
/// - Nothing is committed automatically: the application commits the
///   positions it chooses with ``commit(_:)``, which reports failure.
/// - A revocation keeps its partitions with this member until the application
///   acknowledges it, so in-flight work can finish and be committed before
///   another member is assigned them.
/// - ``pause(_:)`` / ``resume(_:)`` stop and restart fetching per partition.
///
/// The consumer is a `Service`: ``run()`` subscribes and serves librdkafka's
/// consumer queue on a thread of its own until graceful shutdown, then closes
/// (revoking the assignment through ``events``, leaving the group) and
/// finishes ``events``. Keep iterating ``events`` until it ends.
public final class KafkaConsumer: Service, Sendable {
    private struct State {
        var shutdownRequested = false
        var running = false
    }

    /// The consumer's records and rebalance events.
    public let events: KafkaConsumerEvents

    let client: RDKafkaClient
    private let configuration: KafkaConsumerConfiguration
    private let source: KafkaConsumerEvents.Wrapped.Source
    private let delegate: KafkaConsumerEventsDelegate
    private let state = NIOLockedValueBox(State())
    private let logger: Logger

    /// Creates the consumer. Throws `kafka.config.invalid` naming the property
    /// that librdkafka rejected.
    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        guard !configuration.topics.isEmpty else {
            throw KafkaError.invalidConfiguration("a consumer needs at least one topic")
        }
        self.configuration = configuration
        self.logger = logger
        self.client = try RDKafkaClient(
            kind: .consumer,
            properties: configuration.rdKafkaProperties,
            events: RD_KAFKA_EVENT_REBALANCE | RD_KAFKA_EVENT_ERROR,
            logger: logger
        )
        let delegate = KafkaConsumerEventsDelegate()
        let watermarks = configuration.bufferWatermarks
        let sequence = NIOAsyncSequenceProducer.makeSequence(
            elementType: KafkaConsumerEvent.self,
            backPressureStrategy: KafkaConsumerEvents.Strategy(
                lowWatermark: max(1, watermarks.low),
                highWatermark: max(watermarks.low + 1, watermarks.high)
            ),
            finishOnDeinit: false,
            delegate: delegate
        )
        self.delegate = delegate
        self.source = sequence.source
        self.events = KafkaConsumerEvents(wrapped: sequence.sequence)
    }

    /// Subscribes and serves the consumer until graceful shutdown.
    public func run() async throws {
        let alreadyRunning = self.state.withLockedValue { state in
            defer { state.running = true }
            return state.running
        }
        guard !alreadyRunning else { throw KafkaError.state("KafkaConsumer.run() called twice") }

        try self.subscribe()
        try await self.client.serveEventQueue(onGracefulShutdown: { [self] in self.triggerGracefulShutdown() }) { [self] queue in
            self.pollLoop(queue: queue)
        }
    }

    /// Starts closing: the assignment is revoked through ``events``, the member
    /// leaves the group, ``events`` finishes and ``run()`` returns.
    public func triggerGracefulShutdown() {
        self.state.withLockedValue { $0.shutdownRequested = true }
        self.delegate.demand.signal()
    }

    // MARK: Offsets

    /// Commits positions (each the *next* offset to read) synchronously with
    /// the group coordinator. Runs on the blocking pool; throws ``KafkaError``
    /// if the commit, or any partition's part of it, failed.
    public func commit(_ positions: [KafkaCommitPosition]) async throws {
        guard !positions.isEmpty else { return }
        let client = self.client
        let entries = positions.map { ($0.topicPartition, $0.offset) }
        let error: KafkaError? = try await BlockingLoop.run {
            RDKafkaTopicPartitionList.withList(entries) { list in
                let err = rd_kafka_commit(client.handle, list, 0)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return KafkaError(rdKafka: err, context: "commit")
                }
                if let (partition, err) = RDKafkaTopicPartitionList.firstError(in: list) {
                    return KafkaError(rdKafka: err, context: "commit \(partition)")
                }
                return nil
            }
        }
        if let error { throw error }
    }

    /// The group's committed positions for these partitions, as stored by the
    /// coordinator (`nil` where nothing is committed).
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) async throws -> [KafkaTopicPartition: Int64?] {
        let client = self.client
        let entries = partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) }
        return try await BlockingLoop.run { () throws -> [KafkaTopicPartition: Int64?] in
            try RDKafkaTopicPartitionList.withList(entries) { list in
                let err = rd_kafka_committed(client.handle, list, Int32(clamping: timeout.milliseconds))
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(rdKafka: err, context: "committed") }
                var result: [KafkaTopicPartition: Int64?] = [:]
                for index in 0..<Int(list.pointee.cnt) {
                    let element = list.pointee.elems[index]
                    let key = KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
                    result[key] = element.offset >= 0 ? element.offset : nil
                }
                return result
            }
        }
    }

    // MARK: Flow control

    /// Stops fetching from these partitions; records already buffered are
    /// still delivered. The position is kept.
    public func pause(_ partitions: [KafkaTopicPartition]) throws {
        try self.setPaused(partitions, paused: true)
    }

    /// Restarts fetching where it stopped.
    public func resume(_ partitions: [KafkaTopicPartition]) throws {
        try self.setPaused(partitions, paused: false)
    }

    private func setPaused(_ partitions: [KafkaTopicPartition], paused: Bool) throws {
        guard !partitions.isEmpty else { return }
        let entries = partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) }
        try RDKafkaTopicPartitionList.withList(entries) { list in
            let err = paused ? rd_kafka_pause_partitions(self.client.handle, list) : rd_kafka_resume_partitions(self.client.handle, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(rdKafka: err, context: paused ? "pause" : "resume")
            }
            if let (partition, err) = RDKafkaTopicPartitionList.firstError(in: list) {
                throw KafkaError(rdKafka: err, context: "\(paused ? "pause" : "resume") \(partition)")
            }
        }
    }

    /// The partitions currently assigned to this member.
    public func assignment() throws -> [KafkaTopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(self.client.handle, &list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            throw KafkaError(rdKafka: err, context: "assignment")
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return RDKafkaTopicPartitionList.partitions(of: list).sorted()
    }

    // MARK: The poll loop (dedicated thread)

    private func subscribe() throws {
        let entries = self.configuration.topics.map { (KafkaTopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA), Int64(RD_KAFKA_OFFSET_INVALID)) }
        try RDKafkaTopicPartitionList.withList(entries) { list in
            let err = rd_kafka_subscribe(self.client.handle, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(rdKafka: err, context: "subscribe")
            }
        }
    }

    private func pollLoop(queue: SendableOpaquePointer) {
        var closing = false
        var demandSeen = self.delegate.demand.current
        var mustWait = false
        while true {
            if !closing && self.state.withLockedValue({ $0.shutdownRequested }) {
                closing = true
                self.logger.debug("consumer closing")
                if let error = rd_kafka_consumer_close_queue(self.client.handle, queue.pointer) {
                    let kafkaError = KafkaError(consuming: error, context: "close")
                    self.logger.error("consumer close failed", metadata: ["error.code": "\(kafkaError.code)"])
                    break
                }
            }
            if closing && rd_kafka_consumer_closed(self.client.handle) != 0 { break }
            if mustWait && !closing && !self.delegate.isTerminated {
                self.delegate.demand.wait(after: demandSeen, timeout: 0.1)
                if self.delegate.demand.current == demandSeen { continue }
                mustWait = false
            }

            guard var event = rd_kafka_queue_poll(queue.pointer, 100) else { continue }
            demandSeen = self.delegate.demand.current
            if rd_kafka_event_type(event) == RD_KAFKA_EVENT_FETCH {
                // A batch: this record and those already queued behind it, up
                // to the bound; an event of another kind ends the batch and is
                // handled after it, so the order stays librdkafka's.
                var batch: [KafkaConsumerMessage] = []
                batch.reserveCapacity(min(self.configuration.maxBatchSize, 64))
                var next: OpaquePointer? = event
                while let fetched = next, rd_kafka_event_type(fetched) == RD_KAFKA_EVENT_FETCH {
                    while let message = rd_kafka_event_message_next(fetched) {
                        switch self.convert(message) {
                        case .message(let converted):
                            batch.append(converted)
                        case .error(let error):
                            // The records before the error go first: the
                            // order stays librdkafka's.
                            if !batch.isEmpty {
                                mustWait = self.yield(.messages(batch)) || mustWait
                                batch.removeAll(keepingCapacity: true)
                            }
                            mustWait = self.yield(.error(error)) || mustWait
                        case .none:
                            break
                        }
                    }
                    rd_kafka_event_destroy(fetched)
                    next = batch.count < self.configuration.maxBatchSize ? rd_kafka_queue_poll(queue.pointer, 0) : nil
                }
                if !batch.isEmpty { mustWait = self.yield(.messages(batch)) || mustWait }
                guard let other = next else { continue }
                event = other
            }
            defer { rd_kafka_event_destroy(event) }
            switch rd_kafka_event_type(event) {
            case RD_KAFKA_EVENT_REBALANCE:
                self.handleRebalance(event)
            case RD_KAFKA_EVENT_ERROR:
                let error = KafkaError(rdKafka: rd_kafka_event_error(event), context: String(cString: rd_kafka_event_error_string(event)))
                if rd_kafka_event_error_is_fatal(event) != 0 {
                    self.logger.critical("fatal Kafka consumer error; closing", metadata: ["error.code": "\(error.code)", "error.message": "\(error.message)"])
                    var fatal = error
                    fatal.isFatal = true
                    _ = self.yield(.error(fatal))
                    self.state.withLockedValue { $0.shutdownRequested = true }
                } else {
                    self.logger.warning("Kafka consumer error", metadata: ["error.code": "\(error.code)", "error.message": "\(error.message)"])
                    mustWait = self.yield(.error(error)) || mustWait
                }
            default:
                break
            }
        }
        self.source.finish()
        rd_kafka_queue_destroy(queue.pointer)
        self.client.destroy()
        self.logger.debug("consumer closed")
    }

    /// Yields an event; returns whether the buffer asked to stop producing.
    private func yield(_ event: KafkaConsumerEvent) -> Bool {
        switch self.source.yield(event) {
        case .produceMore: return false
        case .stopProducing: return true
        case .dropped: return false
        }
    }

    /// What one fetched message is: a record, a consume error, or nothing to
    /// hand over (a partition's end).
    private enum Fetched {
        case message(KafkaConsumerMessage)
        case error(KafkaError)
        case none
    }

    private func convert(_ message: UnsafePointer<rd_kafka_message_t>) -> Fetched {
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
        let err = message.pointee.err
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return .none }
            let error = KafkaError(rdKafka: err, context: "consume \(topic)[\(message.pointee.partition)]")
            self.logger.warning("Kafka consume error", metadata: ["error.code": "\(error.code)", "error.message": "\(error.message)"])
            return .error(error)
        }
        var value: [UInt8] = []
        if let payload = message.pointee.payload, message.pointee.len > 0 {
            value = Array(UnsafeRawBufferPointer(start: payload, count: message.pointee.len))
        }
        var key: [UInt8]?
        if let keyPointer = message.pointee.key {
            key = Array(UnsafeRawBufferPointer(start: keyPointer, count: message.pointee.key_len))
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return .message(KafkaConsumerMessage(
            topic: topic,
            partition: message.pointee.partition,
            offset: message.pointee.offset,
            key: key,
            value: value,
            headers: RDKafkaHeaders.read(message),
            timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
        ))
    }

    private func handleRebalance(_ event: OpaquePointer) {
        let handle = self.client.handle
        let err = rd_kafka_event_error(event)
        guard let list = rd_kafka_event_topic_partition_list(event) else { return }
        let partitions = RDKafkaTopicPartitionList.partitions(of: list).sorted()
        let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"

        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, list) {
                    let kafkaError = KafkaError(consuming: error, context: "incremental assign")
                    self.logger.error("assign failed", metadata: ["error.code": "\(kafkaError.code)"])
                }
            } else {
                rd_kafka_assign(handle, list)
            }
            self.logger.info("partitions assigned", metadata: ["kafka.partitions": "\(partitions)"])
            _ = self.yield(.partitionsAssigned(partitions))

        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(handle) != 0
            let gate = RevocationGate()
            self.logger.info("partitions revoked", metadata: ["kafka.partitions": "\(partitions)", "kafka.lost": "\(lost)"])
            if self.delegate.isTerminated {
                gate.open()
            } else {
                _ = self.yield(.partitionsRevoked(KafkaRevocation(partitions: partitions, isLost: lost, gate: gate)))
            }
            let seconds = Double(self.configuration.revocationTimeout.milliseconds) / 1000
            if !gate.wait(timeoutSeconds: seconds) {
                self.logger.warning(
                    "revocation not acknowledged in time; giving the partitions up",
                    metadata: ["kafka.partitions": "\(partitions)"]
                )
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, list) {
                    let kafkaError = KafkaError(consuming: error, context: "incremental unassign")
                    self.logger.error("unassign failed", metadata: ["error.code": "\(kafkaError.code)"])
                }
            } else {
                rd_kafka_assign(handle, nil)
            }

        default:
            let error = KafkaError(rdKafka: err, context: "rebalance")
            self.logger.error("rebalance error", metadata: ["error.code": "\(error.code)"])
            rd_kafka_assign(handle, nil)
            _ = self.yield(.error(error))
        }
    }
}
