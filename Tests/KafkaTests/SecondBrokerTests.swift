import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import TestServers
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The Kafka layer's round trips against a second, independent broker:
/// noida-db (PyPI, pinned to 0.2.3) instead of librdkafka's own mock cluster,
/// so that the wrapper is not only ever checked against the code it links.
///
/// What noida-db does not do is left to the mock cluster's tests: its group
/// coordinator never expires a SIGKILLed member (single-member and graceful
/// scenarios only here), and it creates topics on first use with one
/// partition, so every topic here is made first with ``KafkaAdmin``.
/// Transactions are not tested: the wrapper has no transactional producer
/// (``KafkaProducer`` exposes no init/begin/commit/abort).
@Suite("Round trips against a second broker (noida-db)", .timeLimit(.minutes(3)))
struct SecondBrokerTests {
    @Test("KafkaAdmin.createTopics makes a topic with the partitions asked; creating it again fails with kafka.topic_already_exists")
    func createTopics() async throws {
        let logger = testLogger("noida-admin")
        let broker = try NoidaTestBroker.shared()
        let topic = uniqueName("admin")

        let admin = try KafkaAdmin(configuration: noidaClient(broker), logger: logger)
        try await admin.createTopics([KafkaNewTopic(name: topic, partitions: 5)])
        do {
            try await admin.createTopics([KafkaNewTopic(name: topic, partitions: 5)])
            Issue.record("creating an existing topic succeeded")
        } catch let error as KafkaError {
            #expect(error.code == "kafka.topic_already_exists", "\(error)")
        }
        await admin.shutdown()

        // What a client sees in the metadata: five empty partitions.
        let consumer = try KafkaConsumer(configuration: noidaConsumerConfiguration(broker, group: uniqueName("g"), topic: topic), logger: logger)
        let watermarks = try await consumer.watermarks(topic: topic)
        #expect(watermarks.keys.sorted() == [0, 1, 2, 3, 4])
        #expect(watermarks.values.allSatisfy { $0.low == 0 && $0.high == 0 })
    }

    @Test("Keys, values and headers (binary, empty, absent) survive; every delivery report names the offset the consumer reads")
    func roundTrip() async throws {
        let logger = testLogger("noida-round-trip")
        let broker = try NoidaTestBroker.shared()
        let topic = uniqueName("round-trip")
        try await createNoidaTopic(topic, partitions: 4, on: broker, logger: logger)

        let count = 1_000
        let producer = try KafkaProducer(configuration: noidaProducerConfiguration(broker), logger: logger)
        let consumer = try KafkaConsumer(configuration: noidaConsumerConfiguration(broker, group: uniqueName("g"), topic: topic), logger: logger)

        func message(_ index: Int) -> KafkaProducerMessage {
            let key: [UInt8]? = index % 10 == 0 ? nil : Array("key-\(index % 97)".utf8)
            let value: [UInt8] = index % 50 == 0 ? [] : Array("value-\(index)-\(String(repeating: "x", count: index % 50))".utf8)
            return KafkaProducerMessage(
                topic: topic,
                key: key,
                value: value,
                headers: [
                    KafkaHeader(key: "index", string: "\(index)"),
                    KafkaHeader(key: "binary", value: [0, 255, UInt8(index % 256)]),
                    KafkaHeader(key: "empty", value: []),
                    KafkaHeader(key: "absent", value: nil),
                ]
            )
        }

        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await producer.run() }
            services.addTask { try await consumer.run() }

            let reports = try await withThrowingTaskGroup(of: (Int, KafkaDeliveryReport).self) { group in
                for index in 0..<count {
                    group.addTask { (index, try await producer.send(message(index))) }
                }
                var reports: [Int: KafkaDeliveryReport] = [:]
                for try await (index, report) in group { reports[index] = report }
                return reports
            }
            #expect(reports.count == count)
            #expect(reports.values.allSatisfy { $0.offset >= 0 && $0.topic == topic && (0..<4).contains($0.partition) })
            let positions = Set(reports.values.map { "\($0.partition):\($0.offset)" })
            #expect(positions.count == count, "every record has its own (partition, offset)")

            let received = try await withDeadline(.seconds(90), "consume \(count) records") {
                var received: [Int: KafkaConsumerMessage] = [:]
                reading: for await event in consumer.events {
                    guard case .messages(let records) = event else { continue }
                    for record in records {
                    guard let indexText = record.headers.value(forKey: "index").map({ String(decoding: $0, as: UTF8.self) }),
                          let index = Int(indexText) else {
                        Issue.record("record without an index header")
                        continue
                    }
                    #expect(received[index] == nil, "record \(index) delivered twice")
                    received[index] = record
                    if received.count == count { break reading }
                    }
                }
                return received
            }
            #expect(received.count == count)
            for (index, record) in received {
                let sent = message(index)
                #expect(record.key == sent.key)
                #expect(record.value == sent.value)
                #expect(record.headers == sent.headers)
                #expect(record.partition == reports[index]!.partition)
                #expect(record.offset == reports[index]!.offset)
                #expect(record.timestampMilliseconds != nil)
            }
            let watermarks = try await consumer.watermarks(topic: topic)
            let stored = watermarks.values.reduce(Int64(0)) { $0 + ($1.high - $1.low) }
            #expect(stored == Int64(count), "the broker stored each record once")

            consumer.triggerGracefulShutdown()
            producer.triggerGracefulShutdown()
            for await event in consumer.events {
                if case .partitionsRevoked(let revocation) = event { revocation.acknowledge() }
            }
            try await services.waitForAll()
        }
    }

    @Test("A group member joins, commits by hand and leaves; a restarted member resumes exactly after the committed offsets")
    func commitAndResume() async throws {
        let logger = testLogger("noida-commit")
        let broker = try NoidaTestBroker.shared()
        let topic = uniqueName("commit")
        let group = uniqueName("g")
        try await createNoidaTopic(topic, partitions: 2, on: broker, logger: logger)
        let partition0 = KafkaTopicPartition(topic: topic, partition: 0)
        let partition1 = KafkaTopicPartition(topic: topic, partition: 1)

        let producer = try KafkaProducer(configuration: noidaProducerConfiguration(broker), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await producer.run() }
            for index in 0..<200 {
                _ = try await producer.send(KafkaProducerMessage(topic: topic, partition: Int32(index % 2), value: Array("\(index)".utf8)))
            }
            producer.triggerGracefulShutdown()
            try await services.waitForAll()
        }

        // First member: joins (the group's only member: both partitions), reads
        // 30 records of partition 0 and 45 of partition 1, commits exactly
        // those, and leaves the group.
        let wanted: [Int32: Int64] = [0: 30, 1: 45]
        let first = try KafkaConsumer(configuration: noidaConsumerConfiguration(broker, group: group, topic: topic), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await first.run() }
            try await withDeadline(.seconds(60), "first consumer joins and reads") {
                var next: [Int32: Int64] = [0: 0, 1: 0]
                var assigned: Set<KafkaTopicPartition> = []
                var iterator = first.events.makeAsyncIterator()
                var done = false
                while !done, let event = await iterator.next() {
                    switch event {
                    case .partitionsAssigned(let partitions):
                        assigned = Set(partitions)  // eager: the whole assignment
                    case .messages(let records):
                        for record in records where record.offset < wanted[record.partition]! {
                            #expect(record.offset == next[record.partition]!)
                            next[record.partition] = record.offset + 1
                        }
                        done = next == wanted
                    case .partitionsRevoked(let revocation):
                        revocation.acknowledge()
                    case .error:
                        break
                    }
                }
                #expect(assigned == [partition0, partition1], "the group's only member owns both partitions")
                try await first.commit(wanted.map { KafkaCommitPosition(topic: topic, partition: $0.key, offset: $0.value) })
                let committed = try await first.committed([partition0, partition1])
                #expect(committed[partition0] == 30)
                #expect(committed[partition1] == 45)
                first.triggerGracefulShutdown()
                while let event = await iterator.next() {
                    if case .partitionsRevoked(let revocation) = event { revocation.acknowledge() }
                }
            }
            try await services.waitForAll()
        }

        // Second member of the same group: starts at 30 / 45 and reads
        // everything after, once.
        let second = try KafkaConsumer(configuration: noidaConsumerConfiguration(broker, group: group, topic: topic), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await second.run() }
            let seen = try await withDeadline(.seconds(60), "second consumer reads") {
                var seen: [Int32: [Int64]] = [0: [], 1: []]
                var iterator = second.events.makeAsyncIterator()
                reading: while let event = await iterator.next() {
                    guard case .messages(let records) = event else { continue }
                    for record in records {
                        seen[record.partition]!.append(record.offset)
                        if seen[0]!.count + seen[1]!.count == 200 - 75 { break reading }
                    }
                }
                return seen
            }
            #expect(seen[0] == Array(30..<100))
            #expect(seen[1] == Array(45..<100))
            second.triggerGracefulShutdown()
            for await event in second.events {
                if case .messages = event { Issue.record("record delivered after everything was read") }
                if case .partitionsRevoked(let revocation) = event { revocation.acknowledge() }
            }
            try await services.waitForAll()
        }
    }

    @Test("The idempotent producer: each send is stored once, at the offset its report names; sequential sends get consecutive offsets")
    func idempotentProducer() async throws {
        let logger = testLogger("noida-idempotent")
        let broker = try NoidaTestBroker.shared()
        let topic = uniqueName("idempotent")
        try await createNoidaTopic(topic, partitions: 3, on: broker, logger: logger)
        let configuration = noidaProducerConfiguration(broker)
        #expect(configuration.idempotent)

        let concurrent = 600
        let sequential = 100
        let total = concurrent + sequential
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        let consumer = try KafkaConsumer(configuration: noidaConsumerConfiguration(broker, group: uniqueName("g"), topic: topic), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await producer.run() }
            services.addTask { try await consumer.run() }

            // Concurrent sends over all partitions: several in flight per partition.
            var reports = try await withThrowingTaskGroup(of: (Int, KafkaDeliveryReport).self) { group in
                for index in 0..<concurrent {
                    group.addTask {
                        (index, try await producer.send(KafkaProducerMessage(topic: topic, key: "k\(index % 31)", value: Array("\(index)".utf8))))
                    }
                }
                var reports: [Int: KafkaDeliveryReport] = [:]
                for try await (index, report) in group { reports[index] = report }
                return reports
            }
            // Then one at a time to partition 0: each right after the one before.
            let firstSequentialOffset = Int64(reports.values.filter { $0.partition == 0 }.count)
            for index in concurrent..<total {
                let report = try await producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: Array("\(index)".utf8)))
                #expect(report.offset == firstSequentialOffset + Int64(index - concurrent))
                reports[index] = report
            }
            let positions = Set(reports.values.map { "\($0.partition):\($0.offset)" })
            #expect(positions.count == total, "no two sends share a (partition, offset)")

            // Every record the broker holds is one acknowledged send: no
            // duplicates from retries, no gaps.
            let watermarks = try await consumer.watermarks(topic: topic)
            #expect(watermarks.keys.sorted() == [0, 1, 2])
            for (partition, marks) in watermarks {
                let offsets = reports.values.filter { $0.partition == partition }.map(\.offset).sorted()
                #expect(marks.low == 0)
                #expect(offsets == Array(0..<marks.high), "partition \(partition)")
            }

            // And the group reads each of them once.
            let values = try await withDeadline(.seconds(60), "consume \(total) records") {
                var values: [String] = []
                reading: for await event in consumer.events {
                    guard case .messages(let records) = event else { continue }
                    for record in records {
                        values.append(record.valueString)
                        if values.count == total { break reading }
                    }
                }
                return values
            }
            #expect(values.sorted() == (0..<total).map { "\($0)" }.sorted())

            consumer.triggerGracefulShutdown()
            producer.triggerGracefulShutdown()
            for await event in consumer.events {
                if case .partitionsRevoked(let revocation) = event { revocation.acknowledge() }
            }
            try await services.waitForAll()
        }
    }
}

// MARK: - Settings

private func noidaClient(_ broker: NoidaTestBroker) -> KafkaClientConfiguration {
    KafkaClientConfiguration(bootstrapServers: broker.bootstrapServers)
}

/// The product's eager `range` assignment; short session settings as in the
/// mock cluster's tests (noida-db's members leave gracefully here).
private func noidaConsumerConfiguration(_ broker: NoidaTestBroker, group: String, topic: String) -> KafkaConsumerConfiguration {
    KafkaConsumerConfiguration(
        groupID: group,
        topics: [topic],
        client: noidaClient(broker),
        partitionAssignment: .range,
        sessionTimeout: .seconds(6),
        heartbeatInterval: .milliseconds(500),
        revocationTimeout: .seconds(20)
    )
}

private func noidaProducerConfiguration(_ broker: NoidaTestBroker) -> KafkaProducerConfiguration {
    KafkaProducerConfiguration(client: noidaClient(broker), idempotent: true, deliveryTimeout: .seconds(30), flushTimeout: .seconds(10))
}

/// Creates a topic with `partitions` partitions (noida-db's own topics on
/// first use have one).
private func createNoidaTopic(_ name: String, partitions: Int, on broker: NoidaTestBroker, logger: Logger) async throws {
    let admin = try KafkaAdmin(configuration: noidaClient(broker), logger: logger)
    do {
        try await admin.createTopics([KafkaNewTopic(name: name, partitions: partitions)])
    } catch {
        await admin.shutdown()
        throw error
    }
    await admin.shutdown()
}
