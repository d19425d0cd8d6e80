public import Foundation
public import Kafka
public import Logging
import NotifyCore

/// `aicc-notify dlq replay`: copies dead-lettered records back to the input
/// topic so the worker sees them again (after a fix, or once a producer bug is
/// understood).
///
/// It reads the dead-letter topic from its start up to where it ends when the
/// replay starts (records dead-lettered meanwhile wait for the next replay),
/// under a consumer group of its own that commits nothing: every replay looks
/// at the whole topic, and a record replayed twice is harmless because the
/// worker's idempotency key makes it one notification. A replayed record keeps
/// its key, value and original headers; the `dlq.*` headers are dropped and
/// `replay.source` (`TOPIC:PARTITION:OFFSET` of the dead-letter record) is added.
public enum DeadLetterReplay {
    /// Which dead-letter records to replay. Empty filter: all.
    public struct Filter: Sendable {
        /// Error codes to match (`dlq.error.code`): exact, or a prefix ending
        /// in `.` (`validation.` matches every validation error).
        public var errorCodes: [String]
        /// Only records dead-lettered at or after this time (`dlq.failed.at`).
        public var since: Date?
        /// Only records dead-lettered before this time.
        public var until: Date?

        public init(errorCodes: [String] = [], since: Date? = nil, until: Date? = nil) {
            self.errorCodes = errorCodes
            self.since = since
            self.until = until
        }

        func matches(code: String?, failedAt: Date?) -> Bool {
            if !self.errorCodes.isEmpty {
                guard let code, self.errorCodes.contains(where: { $0.hasSuffix(".") ? code.hasPrefix($0) : code == $0 }) else { return false }
            }
            if self.since != nil || self.until != nil {
                guard let failedAt else { return false }
                if let since = self.since, failedAt < since { return false }
                if let until = self.until, failedAt >= until { return false }
            }
            return true
        }
    }

    /// What a replay did.
    public struct Summary: Sendable, Equatable {
        /// Dead-letter records read.
        public var scanned = 0
        /// Of those, the ones the filter matched.
        public var matched = 0
        /// Of those, the ones produced to the target topic (0 on a dry run).
        public var replayed = 0
        /// Matched records per `dlq.error.code` (`(none)` when absent).
        public var matchedByErrorCode: [String: Int] = [:]

        public init(scanned: Int = 0, matched: Int = 0, replayed: Int = 0, matchedByErrorCode: [String: Int] = [:]) {
            self.scanned = scanned
            self.matched = matched
            self.replayed = replayed
            self.matchedByErrorCode = matchedByErrorCode
        }
    }

    /// Settings of one replay.
    public struct Options: Sendable {
        public var client: KafkaClientConfiguration
        /// Default `notification.requests.dlq`.
        public var deadLetterTopic: String
        /// Default `notification.requests`.
        public var targetTopic: String
        public var filter: Filter
        /// Count what would be replayed, produce nothing.
        public var dryRun: Bool
        /// Give up (`kafka.replay.timeout`) when the end of the topic is not
        /// reached within this long, e.g. when the brokers are unreachable.
        /// Default 60 s.
        public var timeout: Duration

        public init(
            client: KafkaClientConfiguration,
            deadLetterTopic: String = "notification.requests.dlq",
            targetTopic: String = "notification.requests",
            filter: Filter = Filter(),
            dryRun: Bool = false,
            timeout: Duration = .seconds(60)
        ) {
            self.client = client
            self.deadLetterTopic = deadLetterTopic
            self.targetTopic = targetTopic
            self.filter = filter
            self.dryRun = dryRun
            self.timeout = timeout
        }
    }

    /// Header naming the dead-letter record a replayed record came from.
    public static let sourceHeader = "replay.source"

    /// Runs one replay to the end of the dead-letter topic as it is now.
    public static func run(_ options: Options, logger: Logger) async throws -> Summary {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: "aicc-notify-dlq-replay-\(UUID().uuidString.prefix(8))",
                topics: [options.deadLetterTopic],
                client: options.client,
                autoOffsetReset: .earliest,
                partitionAssignment: .cooperativeSticky
            ),
            logger: logger
        )
        // A topic that is not there is a mistake to say, not "0 of 0" — and
        // subscribing to it must not create it.
        guard try await consumer.topicExists(options.deadLetterTopic, timeout: options.timeout) else {
            throw KafkaError(code: "kafka.topic.unknown", message: "the dead-letter topic \(options.deadLetterTopic) does not exist (--from)")
        }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: options.client), logger: logger)

        return try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await consumer.run() }
            services.addTask { try await producer.run() }
            defer {
                consumer.triggerGracefulShutdown()
                producer.triggerGracefulShutdown()
            }

            // Where the topic ends now, per partition.
            var remaining: [Int32: Int64] = [:]
            for (partition, marks) in try await consumer.watermarks(topic: options.deadLetterTopic) where marks.high > marks.low {
                remaining[partition] = marks.high
            }
            let ends = remaining
            var summary = Summary()
            if !remaining.isEmpty {
                summary = try await Self.copy(options: options, consumer: consumer, producer: producer, ends: ends, remaining: remaining, logger: logger)
            }

            consumer.triggerGracefulShutdown()
            for await event in consumer.events {
                if case .partitionsRevoked(let revocation) = event { revocation.acknowledge() }
            }
            producer.triggerGracefulShutdown()
            try await services.waitForAll()
            return summary
        }
    }

    private static func copy(
        options: Options,
        consumer: KafkaConsumer,
        producer: KafkaProducer,
        ends: [Int32: Int64],
        remaining initial: [Int32: Int64],
        logger: Logger
    ) async throws -> Summary {
        try await withThrowingTaskGroup(of: Summary?.self) { group in
            group.addTask {
                var remaining = initial
                var summary = Summary()
                var iterator = consumer.events.makeAsyncIterator()
                while !remaining.isEmpty, let event = await iterator.next() {
                    switch event {
                    case .messages(let records):
                        for record in records {
                            guard let end = ends[record.partition], record.offset < end else { continue }
                            summary.scanned += 1
                            let code = record.headers.value(forKey: DeadLetterHeader.errorCode).map { String(decoding: $0, as: UTF8.self) }
                            let failedAt = record.headers.value(forKey: DeadLetterHeader.failedAt).flatMap { RFC3339.parse(String(decoding: $0, as: UTF8.self)) }
                            if options.filter.matches(code: code, failedAt: failedAt) {
                                summary.matched += 1
                                summary.matchedByErrorCode[code ?? "(none)", default: 0] += 1
                                if !options.dryRun {
                                    var headers = record.headers.filter { !$0.key.hasPrefix("dlq.") }
                                    headers.append(KafkaHeader(key: Self.sourceHeader, string: "\(record.topic):\(record.partition):\(record.offset)"))
                                    _ = try await producer.send(KafkaProducerMessage(topic: options.targetTopic, key: record.key, value: record.value, headers: headers))
                                    summary.replayed += 1
                                }
                            }
                            if record.offset + 1 >= end { remaining[record.partition] = nil }
                        }
                    case .partitionsRevoked(let revocation):
                        revocation.acknowledge()
                    case .partitionsAssigned, .error:
                        break
                    }
                }
                return summary
            }
            // Watchdog: the copy must reach the end in time.
            group.addTask {
                try await Task.sleep(for: options.timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let summary = first else {
                throw KafkaError(code: "kafka.replay.timeout", message: "the dead-letter topic was not read to its end within \(options.timeout)", isRetriable: true)
            }
            return summary
        }
    }
}
