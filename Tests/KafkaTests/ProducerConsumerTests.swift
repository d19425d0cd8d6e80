import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Testing

@Suite("Producer and consumer against the mock cluster over TCP", .timeLimit(.minutes(3)))
struct ProducerConsumerTests {
    @Test("10,000 records keep keys, values and headers; every delivery report has a real offset")
    func roundTrip() async throws {
        let logger = testLogger("round-trip")
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topic = uniqueName("round-trip")
        try cluster.createTopic(topic, partitions: 6)

        let count = 10_000
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster: cluster), logger: logger)
        let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster: cluster, group: uniqueName("g"), topic: topic), logger: logger)

        func message(_ index: Int) -> KafkaProducerMessage {
            KafkaProducerMessage(
                topic: topic,
                key: "key-\(index % 97)",
                value: Array("value-\(index)-\(String(repeating: "x", count: index % 50))".utf8),
                headers: [
                    KafkaHeader(key: "index", string: "\(index)"),
                    KafkaHeader(key: "binary", value: [0, 255, UInt8(index % 256)]),
                    KafkaHeader(key: "absent", value: nil),
                ]
            )
        }

        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await producer.run() }
            services.addTask { try await consumer.run() }

            // Produce everything concurrently; collect the reports.
            let reports = try await withThrowingTaskGroup(of: (Int, KafkaDeliveryReport).self) { group in
                for index in 0..<count {
                    group.addTask { (index, try await producer.send(message(index))) }
                }
                var reports: [Int: KafkaDeliveryReport] = [:]
                for try await (index, report) in group { reports[index] = report }
                return reports
            }
            #expect(reports.count == count)
            #expect(reports.values.allSatisfy { $0.offset >= 0 && $0.topic == topic && (0..<6).contains($0.partition) })
            let positions = Set(reports.values.map { "\($0.partition):\($0.offset)" })
            #expect(positions.count == count, "every record has its own (partition, offset)")

            // Consume them all back.
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

            consumer.triggerGracefulShutdown()
            producer.triggerGracefulShutdown()
            // Drain whatever the consumer still delivers (the final revocation).
            for await event in consumer.events {
                if case .partitionsRevoked(let revocation) = event { revocation.acknowledge() }
            }
            try await services.waitForAll()
        }
    }

    @Test("The producer asks for a topic's partitions before its first send; the consumer's watermarks name the same ones")
    func topicPartitions() async throws {
        let logger = testLogger("partitions")
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let topic = uniqueName("partitions")
        try cluster.createTopic(topic, partitions: 4)

        let producer = try KafkaProducer(configuration: producerConfiguration(cluster: cluster), logger: logger)
        let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster: cluster, group: uniqueName("g"), topic: topic), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await producer.run() }
            #expect(try await producer.partitions(of: topic).sorted() == [0, 1, 2, 3])
            let report = try await producer.send(KafkaProducerMessage(topic: topic, partition: 3, value: Array("one".utf8)))
            #expect(report.partition == 3 && report.offset == 0)
            producer.triggerGracefulShutdown()
            try await services.waitForAll()
        }
        // Once run() has ended the client is gone: asking is an error, not a crash.
        do {
            _ = try await producer.partitions(of: topic)
            Issue.record("partitions(of:) answered after the producer had shut down")
        } catch let error as KafkaError {
            #expect(error.code == "kafka.shutdown", "\(error)")
        }
        let watermarks = try await consumer.watermarks(topic: topic)
        #expect(watermarks.keys.sorted() == [0, 1, 2, 3])
        #expect(watermarks[3]?.low == 0 && watermarks[3]?.high == 1)
        #expect(watermarks[0]?.low == 0 && watermarks[0]?.high == 0)
    }

    @Test("A new consumer in the group resumes exactly after the committed offsets")
    func commitAndResume() async throws {
        let logger = testLogger("commit")
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let topic = uniqueName("commit")
        let group = uniqueName("g")
        try cluster.createTopic(topic, partitions: 2)

        let producer = try KafkaProducer(configuration: producerConfiguration(cluster: cluster), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await producer.run() }
            for index in 0..<200 {
                _ = try await producer.send(KafkaProducerMessage(topic: topic, partition: Int32(index % 2), value: Array("\(index)".utf8)))
            }
            producer.triggerGracefulShutdown()
            try await services.waitForAll()
        }

        // First member: read 30 records of partition 0 and 45 of partition 1,
        // commit exactly those, and leave.
        let wanted: [Int32: Int64] = [0: 30, 1: 45]
        let first = try KafkaConsumer(configuration: consumerConfiguration(cluster: cluster, group: group, topic: topic), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await first.run() }
            try await withDeadline(.seconds(60), "first consumer reads") {
                var next: [Int32: Int64] = [0: 0, 1: 0]
                var iterator = first.events.makeAsyncIterator()
                var done = false
                while !done, let event = await iterator.next() {
                    guard case .messages(let records) = event else { continue }
                    for record in records where record.offset < wanted[record.partition]! {
                        #expect(record.offset == next[record.partition]!)
                        next[record.partition] = record.offset + 1
                    }
                    done = next == wanted
                }
                try await first.commit(wanted.map { KafkaCommitPosition(topic: topic, partition: $0.key, offset: $0.value) })
                let committed = try await first.committed([KafkaTopicPartition(topic: topic, partition: 0), KafkaTopicPartition(topic: topic, partition: 1)])
                #expect(committed[KafkaTopicPartition(topic: topic, partition: 0)] == 30)
                #expect(committed[KafkaTopicPartition(topic: topic, partition: 1)] == 45)
                first.triggerGracefulShutdown()
                while let event = await iterator.next() {
                    if case .partitionsRevoked(let revocation) = event { revocation.acknowledge() }
                }
            }
            try await services.waitForAll()
        }

        // Second member: starts at 30 / 45 and reads everything after, once.
        let second = try KafkaConsumer(configuration: consumerConfiguration(cluster: cluster, group: group, topic: topic), logger: logger)
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

    @Test("Pause stops delivery from a partition; resume restarts where it stopped")
    func pauseAndResume() async throws {
        let logger = testLogger("pause")
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let topic = uniqueName("pause")
        try cluster.createTopic(topic, partitions: 1)
        let partition = KafkaTopicPartition(topic: topic, partition: 0)

        let producer = try KafkaProducer(configuration: producerConfiguration(cluster: cluster), logger: logger)
        let consumer = try KafkaConsumer(
            configuration: consumerConfiguration(cluster: cluster, group: uniqueName("g"), topic: topic, watermarks: (1, 2)),
            logger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await producer.run() }
            services.addTask { try await consumer.run() }
            for index in 0..<20 {
                _ = try await producer.send(KafkaProducerMessage(topic: topic, value: Array("\(index)".utf8)))
            }

            let offsets = NIOLockedValueBox<[Int64]>([])
            let paused = NIOLockedValueBox(false)
            let deliveredWhilePaused = NIOLockedValueBox(0)
            services.addTask {
                for await event in consumer.events {
                    switch event {
                    case .messages(let records):
                        // Counted in events: the buffer's bound is in events
                        // (each up to maxBatchSize records), and the records
                        // after offset 4 in its own batch were fetched before
                        // the pause.
                        if paused.withLockedValue({ $0 }) { deliveredWhilePaused.withLockedValue { $0 += 1 } }
                        for record in records {
                            offsets.withLockedValue { $0.append(record.offset) }
                            if record.offset == 4 {
                                try consumer.pause([partition])
                                paused.withLockedValue { $0 = true }
                            }
                        }
                    case .partitionsRevoked(let revocation):
                        revocation.acknowledge()
                    default:
                        break
                    }
                }
            }

            try await withDeadline(.seconds(30), "first five records") {
                while !paused.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
            }
            // Records already buffered ahead of the application may still
            // arrive; after that, nothing while paused, even new records.
            try await Task.sleep(for: .seconds(2))
            let countAtPause = offsets.withLockedValue { $0.count }
            for index in 20..<40 {
                _ = try await producer.send(KafkaProducerMessage(topic: topic, value: Array("\(index)".utf8)))
            }
            try await Task.sleep(for: .seconds(3))
            #expect(offsets.withLockedValue { $0.count } == countAtPause, "nothing delivered while paused")
            #expect(countAtPause < 40)
            #expect(deliveredWhilePaused.withLockedValue { $0 } <= 3, "at most the small buffer (2 events) and the event in hand drain after pause")

            paused.withLockedValue { $0 = false }
            try consumer.resume([partition])
            try await withDeadline(.seconds(30), "the rest after resume") {
                while offsets.withLockedValue({ $0.count }) < 40 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(offsets.withLockedValue { $0 } == Array(0..<40), "resumed exactly where it stopped, nothing skipped or repeated")

            consumer.triggerGracefulShutdown()
            producer.triggerGracefulShutdown()
            try await services.waitForAll()
        }
    }
}
