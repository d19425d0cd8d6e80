import Foundation
import Kafka
import Logging
import Testing

@Suite("Producing while the partition leader is down", .timeLimit(.minutes(2)))
struct BrokerDownTests {
    @Test("A send completes once the broker is back, with a real offset")
    func completesAfterBrokerReturns() async throws {
        let logger = testLogger("broker-down")
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topic = uniqueName("down")
        try cluster.createTopic(topic, partitions: 1)
        try cluster.setPartitionLeader(topic: topic, partition: 0, brokerID: 1)

        let producer = try KafkaProducer(configuration: producerConfiguration(cluster: cluster), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await producer.run() }
            let before = try await producer.send(KafkaProducerMessage(topic: topic, value: Array("before".utf8)))
            #expect(before.offset == 0)

            try cluster.setBrokerDown(1)
            async let during = producer.send(KafkaProducerMessage(topic: topic, value: Array("during".utf8)))
            try await Task.sleep(for: .seconds(2))
            #expect(producer.outstandingCount == 1, "the send is still waiting while the leader is down")
            try cluster.setBrokerUp(1)
            let report = try await during
            #expect(report.offset == 1)
            #expect(report.partition == 0)

            producer.triggerGracefulShutdown()
            try await services.waitForAll()
        }
    }

    @Test("A send fails with a retriable error when the broker stays down past the delivery timeout")
    func failsRetriably() async throws {
        let logger = testLogger("broker-down")
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topic = uniqueName("down")
        try cluster.createTopic(topic, partitions: 1)
        try cluster.setPartitionLeader(topic: topic, partition: 0, brokerID: 2)

        let producer = try KafkaProducer(configuration: producerConfiguration(cluster: cluster, deliveryTimeout: .seconds(3)), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await producer.run() }
            _ = try await producer.send(KafkaProducerMessage(topic: topic, value: Array("warm-up".utf8)))
            try cluster.setBrokerDown(2)
            do {
                let report = try await producer.send(KafkaProducerMessage(topic: topic, value: Array("lost?".utf8)))
                Issue.record("send reported success while the leader was down: \(report)")
            } catch let error as KafkaError {
                #expect(error.isRetriable, "\(error)")
                #expect(!error.isFatal)
                #expect(error.code.hasPrefix("kafka."))
            }
            try cluster.setBrokerUp(2)
            producer.triggerGracefulShutdown()
            try await services.waitForAll()
        }
    }

    @Test("An unknown librdkafka property is refused with a message that names it")
    func invalidProperty() throws {
        let configuration = KafkaProducerConfiguration(client: KafkaClientConfiguration(properties: ["no.such.property": "1"]))
        #expect {
            _ = try KafkaProducer(configuration: configuration, logger: testLogger("config"))
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.code == "kafka.config.invalid" && error.message.contains("no.such.property")
        }
    }
}
