import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import Testing

/// Collects log events in memory (never the global bootstrap).
private final class LogCapture: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    let entries = NIOLockedValueBox<[Entry]>([])

    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label) { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let metadata = (event.metadata ?? [:]).mapValues { "\($0)" }
            self.capture.entries.withLockedValue { $0.append(Entry(level: event.level, message: "\(event.message)", metadata: metadata)) }
        }
    }
}

@Suite("Client configuration and librdkafka's logs", .timeLimit(.minutes(1)))
struct ClientConfigurationTests {
    @Test("librdkafka's own log lines reach swift-log, with their facility, and never the SASL password")
    func librdkafkaLogsReachSwiftLog() async throws {
        let capture = LogCapture()
        let password = "pl4nted-sasl-p4ssword"
        // A closed port: librdkafka logs its failed connection attempts.
        let configuration = KafkaProducerConfiguration(
            client: KafkaClientConfiguration(
                bootstrapServers: "127.0.0.1:1",
                security: KafkaSecurity(protocol: .saslPlaintext, sasl: .init(mechanism: "PLAIN", username: "user", password: password)),
                properties: ["debug": "broker,security"]
            ),
            flushTimeout: .seconds(1)
        )
        let producer = try KafkaProducer(configuration: configuration, logger: capture.logger("kafka"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            let deadline = ContinuousClock.now + .seconds(20)
            while capture.entries.withLockedValue({ $0.count }) < 5, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            producer.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        let entries = capture.entries.withLockedValue { $0 }
        #expect(entries.count >= 5)
        #expect(entries.contains { $0.metadata["kafka.facility"] != nil && $0.message.contains("127.0.0.1:1") })
        #expect(!entries.contains { $0.message.contains(password) || $0.metadata.values.contains { $0.contains(password) } })
    }

    @Test("A linger.ms among the pass-through properties wins over the typed linger; without one, the typed one holds")
    func lingerPassThroughWins() throws {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let typed = try KafkaProducer(configuration: KafkaProducerConfiguration(linger: .milliseconds(25)), logger: logger)
        #expect(typed.configurationValue("linger.ms") == "25")
        let passedThrough = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: KafkaClientConfiguration(properties: ["linger.ms": "40"]), linger: .milliseconds(25)),
            logger: logger)
        #expect(passedThrough.configurationValue("linger.ms") == "40")
        let alias = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: KafkaClientConfiguration(properties: ["queue.buffering.max.ms": "7"]), linger: .milliseconds(25)),
            logger: logger)
        #expect(alias.configurationValue("linger.ms") == "7")
        #expect(typed.configurationValue("no.such.property") == nil)
    }

    @Test("A producer asks for its topics to prepare as it starts: its first record to one needs no metadata round of librdkafka's, to another it does")
    func preparedTopicsNeedNoMetadataRound() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: testLogger("prepare-cluster"))
        defer { cluster.shutdown() }
        let prepared = uniqueName("prepared")
        let unprepared = uniqueName("unprepared")
        try cluster.createTopic(prepared, partitions: 3)
        try cluster.createTopic(unprepared, partitions: 3)
        let capture = LogCapture()
        var configuration = producerConfiguration(cluster: cluster)
        configuration.client.properties["debug"] = "topic"
        configuration.topicsToPrepare = [prepared]
        let producer = try KafkaProducer(configuration: configuration, logger: capture.logger("kafka"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            let deadline = ContinuousClock.now + .seconds(20)
            while !capture.entries.withLockedValue({ $0.contains { $0.message == "producer prepared topic" } }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            for topic in [prepared, unprepared] {
                _ = try await producer.send(KafkaProducerMessage(topic: topic, value: Array("one".utf8)))
            }
            producer.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        let entries = capture.entries.withLockedValue { $0 }
        let preparedEntry = entries.first { $0.message == "producer prepared topic" }
        #expect(preparedEntry?.metadata["kafka.topic"] == prepared && preparedEntry?.metadata["kafka.partitions"] == "3")
        // librdkafka 2.0.2's words when it must ask for a topic before producing to it.
        let heldFor = entries.filter { $0.message.contains("partition count is zero") }
        #expect(heldFor.contains { $0.message.contains(unprepared) }, "the control topic was held for metadata")
        #expect(!heldFor.contains { $0.message.contains(prepared + " ") }, "\(heldFor.map(\.message))")
    }

    @Test("SASL/TLS settings are expressible and accepted by Debian's librdkafka", arguments: [
        KafkaSecurity(protocol: .saslSSL, sasl: .init(mechanism: "SCRAM-SHA-512", username: "u", password: "p")),
        KafkaSecurity(protocol: .saslPlaintext, sasl: .init(mechanism: "PLAIN", username: "u", password: "p")),
        KafkaSecurity(protocol: .ssl, tls: .init(caLocation: "/etc/ssl/certs/ca-certificates.crt")),
    ])
    func securityIsExpressible(security: KafkaSecurity) throws {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        _ = try KafkaProducer(configuration: KafkaProducerConfiguration(client: KafkaClientConfiguration(security: security)), logger: logger)
        _ = try KafkaConsumer(configuration: KafkaConsumerConfiguration(groupID: "g", topics: ["t"], client: KafkaClientConfiguration(security: security)), logger: logger)
    }
}
