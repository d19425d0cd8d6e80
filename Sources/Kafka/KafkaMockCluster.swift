import CRDKafka
public import Logging
public import ServiceLifecycle
import NIOConcurrencyHelpers

/// An in-process Kafka cluster that speaks the real protocol over loopback
/// TCP: librdkafka's mock cluster (`rdkafka_mock.h`).
///
/// It supports producing (idempotent and transactional), consumer groups with
/// offset commits, metadata, broker down/up and error injection; clients in
/// this or another process reach it through ``bootstrapServers``. librdkafka
/// marks the API experimental, so this type is the only place that touches
/// it. The cluster serves until ``shutdown()`` (or deinit).
public final class KafkaMockCluster: Sendable {
    private let client: RDKafkaClient
    private let cluster: NIOLockedValueBox<SendableOpaquePointer?>

    /// The loopback bootstrap list, e.g. `127.0.0.1:40001,127.0.0.1:40002`.
    public let bootstrapServers: String
    /// Broker ids are `1...brokerCount`.
    public let brokerCount: Int

    /// Starts `brokers` mock brokers on loopback.
    public init(brokers: Int = 1, logger: Logger) throws(KafkaError) {
        guard brokers >= 1 else { throw KafkaError.invalidConfiguration("a mock cluster needs at least one broker") }
        // The mock cluster hangs off any rd_kafka_t; a producer without
        // brokers is the lightest.
        self.client = try RDKafkaClient(kind: .producer, properties: ["log.connection.close": "false"], events: 0, logger: logger)
        guard let cluster = rd_kafka_mock_cluster_new(self.client.handle, Int32(brokers)) else {
            throw KafkaError(code: "kafka.mock.start", message: "could not start the mock cluster")
        }
        self.cluster = NIOLockedValueBox(SendableOpaquePointer(cluster))
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.brokerCount = brokers
    }

    deinit {
        self.shutdown()
    }

    private func withCluster<Result>(_ body: (OpaquePointer) throws(KafkaError) -> Result) throws(KafkaError) -> Result {
        guard let cluster = self.cluster.withLockedValue({ $0 }) else {
            throw KafkaError.state("the mock cluster was shut down")
        }
        return try body(cluster.pointer)
    }

    private static func check(_ err: rd_kafka_resp_err_t, _ context: String) throws(KafkaError) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(rdKafka: err, context: context) }
    }

    /// Creates a topic. `replicationFactor` is at most the broker count;
    /// `nil` means all brokers.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int? = nil) throws(KafkaError) {
        let replication = min(self.brokerCount, replicationFactor ?? self.brokerCount)
        try self.withCluster { cluster throws(KafkaError) in
            try Self.check(rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replication)), "create topic \(name)")
        }
    }

    /// Makes a broker refuse connections and drop the ones it has.
    public func setBrokerDown(_ brokerID: Int32) throws(KafkaError) {
        try self.withCluster { cluster throws(KafkaError) in
            try Self.check(rd_kafka_mock_broker_set_down(cluster, brokerID), "broker \(brokerID) down")
        }
    }

    /// Brings a broker back.
    public func setBrokerUp(_ brokerID: Int32) throws(KafkaError) {
        try self.withCluster { cluster throws(KafkaError) in
            try Self.check(rd_kafka_mock_broker_set_up(cluster, brokerID), "broker \(brokerID) up")
        }
    }

    /// Moves a partition's leadership to a broker.
    public func setPartitionLeader(topic: String, partition: Int32, brokerID: Int32) throws(KafkaError) {
        try self.withCluster { cluster throws(KafkaError) in
            try Self.check(rd_kafka_mock_partition_set_leader(cluster, topic, partition, brokerID), "leader of \(topic)[\(partition)]")
        }
    }

    /// Adds round-trip latency to a broker's responses.
    public func setBrokerRoundTripTime(_ brokerID: Int32, milliseconds: Int) throws(KafkaError) {
        try self.withCluster { cluster throws(KafkaError) in
            try Self.check(rd_kafka_mock_broker_set_rtt(cluster, brokerID, Int32(milliseconds)), "rtt of broker \(brokerID)")
        }
    }

    /// Makes the next `errors.count` requests of a Kafka API (by API key, e.g.
    /// 0 = Produce, 8 = OffsetCommit) fail with these librdkafka error codes.
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) throws(KafkaError) {
        try self.withCluster { cluster throws(KafkaError) in
            let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
            codes.withUnsafeBufferPointer { buffer in
                rd_kafka_mock_push_request_errors_array(cluster, apiKey, buffer.count, buffer.baseAddress)
            }
        }
    }

    /// Stops the brokers. Clients still connected see them go away.
    public func shutdown() {
        guard let cluster = self.cluster.withLockedValue({ value -> SendableOpaquePointer? in
            defer { value = nil }
            return value
        }) else { return }
        rd_kafka_mock_cluster_destroy(cluster.pointer)
        self.client.destroy()
    }
}

extension KafkaMockCluster: Service {
    /// Serves until graceful shutdown, then stops the brokers.
    public func run() async throws {
        try? await gracefulShutdown()
        self.shutdown()
    }
}
