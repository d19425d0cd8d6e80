import Foundation
import Kafka
import Logging
import NotifyCore
import NotifyWorker
import Testing

@Suite("Replaying the dead-letter topic (mock cluster over TCP)", .timeLimit(.minutes(2)))
struct DeadLetterReplayTests {
    private let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Six dead-letter records over two partitions: three codes, two times,
    /// one without dlq headers at all.
    private func seed(_ cluster: KafkaMockCluster, dlq: String) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: .init(bootstrapServers: cluster.bootstrapServers), flushTimeout: .seconds(5)), logger: self.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            let records: [(String, String?, String?)] = [
                ("r1", "decode.json", "2026-11-25T10:00:00Z"),
                ("r2", "validation.called.format", "2026-11-25T10:30:00Z"),
                ("r3", "validation.priority.range", "2026-11-25T11:30:00Z"),
                ("r4", "cloudevents.type", "2026-11-25T11:45:00Z"),
                ("r5", "decode.json", "2026-11-25T12:00:00Z"),
                ("r6", nil, nil),
            ]
            for (index, (id, code, time)) in records.enumerated() {
                var headers = [KafkaHeader(key: "traceparent", string: "00-\(id)")]
                if let code { headers.append(KafkaHeader(key: DeadLetterHeader.errorCode, string: code)) }
                if let time { headers.append(KafkaHeader(key: DeadLetterHeader.failedAt, string: time)) }
                headers.append(KafkaHeader(key: DeadLetterHeader.sourceTopic, string: "notification.requests"))
                _ = try await producer.send(KafkaProducerMessage(topic: dlq, partition: Int32(index % 2), key: Array(id.utf8), value: Array("value-\(id)".utf8), headers: headers))
            }
            producer.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    /// Everything on `topic`, read by a fresh group.
    private func readAll(_ cluster: KafkaMockCluster, topic: String, count: Int) async throws -> [KafkaConsumerMessage] {
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(groupID: "check-\(UUID())", topics: [topic], client: .init(bootstrapServers: cluster.bootstrapServers)), logger: self.logger)
        return try await withThrowingTaskGroup(of: [KafkaConsumerMessage].self) { group in
            group.addTask { try await consumer.run(); return [] }
            var records: [KafkaConsumerMessage] = []
            if count > 0 {
                for await event in consumer.events {
                    if case .messages(let batch) = event { records += batch }
                    if records.count >= count { break }
                }
            }
            consumer.triggerGracefulShutdown()
            for await event in consumer.events {
                if case .partitionsRevoked(let revocation) = event { revocation.acknowledge() }
            }
            try await group.waitForAll()
            return records
        }
    }

    @Test("A filtered replay copies exactly the matching records, headers cleaned, source noted")
    func filteredReplay() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: self.logger)
        defer { cluster.shutdown() }
        try cluster.createTopic("dlq", partitions: 2)
        try cluster.createTopic("requests", partitions: 2)
        try await self.seed(cluster, dlq: "dlq")

        let filter = DeadLetterReplay.Filter(
            errorCodes: ["validation.", "decode.json"],
            since: RFC3339.parse("2026-11-25T10:15:00Z"),
            until: RFC3339.parse("2026-11-25T12:00:00Z")
        )
        let summary = try await DeadLetterReplay.run(
            .init(client: .init(bootstrapServers: cluster.bootstrapServers), deadLetterTopic: "dlq", targetTopic: "requests", filter: filter),
            logger: self.logger
        )
        #expect(summary.scanned == 6)
        #expect(summary.matched == 2)
        #expect(summary.replayed == 2)
        #expect(summary.matchedByErrorCode == ["validation.called.format": 1, "validation.priority.range": 1])

        let replayed = try await self.readAll(cluster, topic: "requests", count: 2)
        #expect(Set(replayed.map { String(decoding: $0.key ?? [], as: UTF8.self) }) == ["r2", "r3"])
        for record in replayed {
            let id = String(decoding: record.key ?? [], as: UTF8.self)
            #expect(record.value == Array("value-\(id)".utf8))
            #expect(record.headers.value(forKey: "traceparent") == Array("00-\(id)".utf8), "original headers kept")
            #expect(!record.headers.contains { $0.key.hasPrefix("dlq.") }, "dlq headers dropped")
            let source = try #require(record.headers.value(forKey: DeadLetterReplay.sourceHeader).map { String(decoding: $0, as: UTF8.self) })
            #expect(source.hasPrefix("dlq:"))
        }
    }

    @Test("A dry run counts and produces nothing; an empty topic is a quick no-op")
    func dryRunAndEmpty() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: self.logger)
        defer { cluster.shutdown() }
        try cluster.createTopic("dlq", partitions: 2)
        try cluster.createTopic("requests", partitions: 1)
        try cluster.createTopic("empty", partitions: 3)
        try await self.seed(cluster, dlq: "dlq")

        let dry = try await DeadLetterReplay.run(
            .init(client: .init(bootstrapServers: cluster.bootstrapServers), deadLetterTopic: "dlq", targetTopic: "requests", dryRun: true),
            logger: self.logger
        )
        #expect(dry == DeadLetterReplay.Summary(scanned: 6, matched: 6, replayed: 0, matchedByErrorCode: [
            "decode.json": 2, "validation.called.format": 1, "validation.priority.range": 1, "cloudevents.type": 1, "(none)": 1,
        ]))
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(groupID: "probe", topics: ["requests"], client: .init(bootstrapServers: cluster.bootstrapServers)), logger: self.logger)
        let marks = try await consumer.watermarks(topic: "requests")
        #expect(marks[0]?.high == 0, "nothing produced on a dry run")

        let empty = try await DeadLetterReplay.run(
            .init(client: .init(bootstrapServers: cluster.bootstrapServers), deadLetterTopic: "empty", targetTopic: "requests"),
            logger: self.logger
        )
        #expect(empty == DeadLetterReplay.Summary())
    }
}
