import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import Testing

/// One group member driven the way the worker drives it: process records in
/// order, remember the next offset per partition, and on revocation commit
/// those positions before acknowledging.
private final class Member: Sendable {
    let name: String
    let consumer: KafkaConsumer
    let timeline: Timeline
    let seen = NIOLockedValueBox<[String]>([])
    let next = NIOLockedValueBox<[KafkaTopicPartition: Int64]>([:])
    let owned = NIOLockedValueBox<Set<KafkaTopicPartition>>([])

    init(name: String, consumer: KafkaConsumer, timeline: Timeline) {
        self.name = name
        self.consumer = consumer
        self.timeline = timeline
    }

    func consume() async throws {
        for await event in self.consumer.events {
            switch event {
            case .messages(let records):
                for record in records {
                    self.seen.withLockedValue { $0.append(record.valueString) }
                    self.next.withLockedValue { $0[record.topicPartition] = record.offset + 1 }
                }
            case .partitionsAssigned(let partitions):
                self.timeline.record(self.name, "assigned", partitions)
                self.owned.withLockedValue { $0.formUnion(partitions) }
            case .partitionsRevoked(let revocation):
                self.timeline.record(self.name, "revoked", revocation.partitions)
                // Finish in-flight work (simulated), then commit and let go.
                try await Task.sleep(for: .milliseconds(300))
                let positions = self.next.withLockedValue { next in
                    revocation.partitions.compactMap { partition in
                        next[partition].map { KafkaCommitPosition(topic: partition.topic, partition: partition.partition, offset: $0) }
                    }
                }
                if !revocation.isLost {
                    do {
                        try await self.consumer.commit(positions)
                    } catch let error as KafkaError where error.isRetriable {
                        // librdkafka's mock coordinator refuses commits while
                        // an eager rebalance is in progress (real brokers
                        // accept them in PreparingRebalance). The records are
                        // then read again by the next owner: at least once.
                        self.timeline.record(self.name, "commit-refused:\(error.code)", revocation.partitions)
                    }
                }
                self.owned.withLockedValue { $0.subtract(revocation.partitions) }
                self.timeline.record(self.name, "acknowledged", revocation.partitions)
                revocation.acknowledge()
            case .error:
                break
            }
        }
    }
}

@Suite("Consumer group rebalancing against the mock cluster", .timeLimit(.minutes(3)))
struct RebalanceTests {
    @Test(
        "Two members split the partitions; when one leaves the other gets all, nothing is lost, and revocation precedes reassignment",
        arguments: [KafkaConsumerConfiguration.PartitionAssignment.range, .cooperativeSticky]
    )
    func splitAndTakeOver(assignment: KafkaConsumerConfiguration.PartitionAssignment) async throws {
        let logger = testLogger("rebalance")
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topic = uniqueName("rebalance")
        let group = uniqueName("g")
        try cluster.createTopic(topic, partitions: 4)
        let all = Set((0..<4).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) })

        let timeline = Timeline()
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster: cluster), logger: logger)
        let a = Member(name: "a", consumer: try KafkaConsumer(configuration: consumerConfiguration(cluster: cluster, group: group, topic: topic, assignment: assignment), logger: logger), timeline: timeline)
        let b = Member(name: "b", consumer: try KafkaConsumer(configuration: consumerConfiguration(cluster: cluster, group: group, topic: topic, assignment: assignment), logger: logger), timeline: timeline)

        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await producer.run() }
            services.addTask { try await a.consumer.run() }
            services.addTask { try await a.consume() }
            services.addTask { try await b.consumer.run() }
            services.addTask { try await b.consume() }

            func produce(_ range: Range<Int>) async throws {
                for index in range {
                    _ = try await producer.send(KafkaProducerMessage(topic: topic, key: "k\(index)", value: Array("m\(index)".utf8)))
                }
            }

            // Both members own a disjoint share covering all partitions.
            try await withDeadline(.seconds(60), "both members assigned") {
                while true {
                    let ownedA = a.owned.withLockedValue { $0 }
                    let ownedB = b.owned.withLockedValue { $0 }
                    if !ownedA.isEmpty, !ownedB.isEmpty, ownedA.isDisjoint(with: ownedB), ownedA.union(ownedB) == all { return }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            try await produce(0..<200)
            try await withDeadline(.seconds(30), "first 200 consumed") {
                while a.seen.withLockedValue({ $0.count }) + b.seen.withLockedValue({ $0.count }) < 200 {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            let aPartitions = a.owned.withLockedValue { $0 }

            // A leaves; B must end up with everything.
            a.consumer.triggerGracefulShutdown()
            try await produce(200..<400)
            try await withDeadline(.seconds(60), "b owns all partitions and consumed everything") {
                while b.owned.withLockedValue({ $0 }) != all
                    || Set(a.seen.withLockedValue({ $0 }) + b.seen.withLockedValue({ $0 })).count < 400 {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }

            let consumed = a.seen.withLockedValue { $0 } + b.seen.withLockedValue { $0 }
            #expect(Set(consumed) == Set((0..<400).map { "m\($0)" }), "no record lost")
            let refusedCommits = timeline.all.filter { $0.what.hasPrefix("commit-refused") }
            if refusedCommits.isEmpty {
                #expect(consumed.count == 400, "no record delivered twice: commits on revocation were exact")
            } else {
                // Only eager assignment may meet a refused commit, and only
                // the mock's "rebalance in progress".
                #expect(assignment != .cooperativeSticky, "cooperative revocations commit: \(refusedCommits.map(\.what))")
                #expect(refusedCommits.allSatisfy { $0.what == "commit-refused:kafka.rebalance_in_progress" })
            }

            // A acknowledged the revocation of its partitions before B was
            // assigned any of them.
            let entries = timeline.all
            let aAcknowledged = try #require(entries.last { $0.who == "a" && $0.what == "acknowledged" && !Set($0.partitions).isDisjoint(with: aPartitions) })
            let bTookOver = try #require(entries.first { $0.who == "b" && $0.what == "assigned" && !Set($0.partitions).isDisjoint(with: aPartitions) && $0.at > entries.first { $0.who == "a" && $0.what == "revoked" }!.at })
            #expect(aAcknowledged.at < bTookOver.at)

            b.consumer.triggerGracefulShutdown()
            producer.triggerGracefulShutdown()
            try await services.waitForAll()
        }
    }
}
