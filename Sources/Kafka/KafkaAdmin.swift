public import Logging
import NIOConcurrencyHelpers

/// A topic for ``KafkaAdmin/createTopics(_:timeout:)``.
public struct KafkaNewTopic: Sendable, Hashable {
    /// The topic's name.
    public var name: String
    /// How many partitions it gets (at least 1).
    public var partitions: Int
    /// Replicas per partition; `nil` uses the broker's default
    /// (`default.replication.factor`).
    public var replicationFactor: Int?

    public init(name: String, partitions: Int, replicationFactor: Int? = nil) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}

/// Cluster administration through librdkafka's admin API: creating topics.
///
/// A broker that creates topics on first use gives them its default
/// partition count (one on most brokers), so whatever needs a topic with
/// several partitions (tests, tools) creates it first with
/// ``createTopics(_:timeout:)``. ``KafkaMockCluster`` has its own
/// ``KafkaMockCluster/createTopic(_:partitions:replicationFactor:)``.
///
/// The admin API's calls block until the broker answers, so they run on NIO's
/// blocking pool, never on the cooperative pool. Call ``shutdown()`` when done
/// (destroying the client blocks too); the client must not be used after it.
public final class KafkaAdmin: Sendable {
    private let client: RDKafkaClient
    private let closed = NIOLockedValueBox(false)

    /// Creates the admin client (a librdkafka producer handle that produces
    /// nothing). It connects when first used. Throws `kafka.config.invalid`
    /// naming the property that librdkafka rejected.
    public init(configuration: KafkaClientConfiguration, logger: Logger) throws(KafkaError) {
        self.client = try RDKafkaClient(kind: .producer, properties: configuration.rdKafkaProperties, events: 0, logger: logger)
    }

    /// Creates the topics and returns once the broker has created them.
    ///
    /// Throws ``KafkaError``: for a topic the broker refused, the first such
    /// topic's error (`kafka.topic_already_exists`,
    /// `kafka.invalid_partitions`, `kafka.invalid_replication_factor`, …; the
    /// other topics of the call may have been created); for a request that
    /// failed as a whole, its error (`kafka.timed_out` when no answer came
    /// within `timeout`). `timeout` bounds the request and the broker's work
    /// on it.
    public func createTopics(_ topics: [KafkaNewTopic], timeout: Duration = .seconds(30)) async throws {
        guard !topics.isEmpty else { return }
        guard !self.closed.withLockedValue({ $0 }) else {
            throw KafkaError.state("KafkaAdmin used after shutdown()")
        }
        let client = self.client
        let milliseconds = Int32(clamping: timeout.milliseconds)
        let results = try await BlockingLoop.run { () throws -> [RDKafkaAdmin.TopicResult] in
            try RDKafkaAdmin.createTopics(handle: client.handle, topics: topics, timeoutMilliseconds: milliseconds)
        }
        for topic in topics {
            guard let result = results.first(where: { $0.name == topic.name }) else {
                throw KafkaError(code: "kafka.admin.no_result", message: "the broker's answer did not mention topic \(topic.name)")
            }
            if let error = result.error { throw error }
        }
    }

    /// Destroys the client, on the blocking pool. Safe to call more than once;
    /// call it once no ``createTopics(_:timeout:)`` is in flight.
    public func shutdown() async {
        let alreadyClosed = self.closed.withLockedValue { closed in
            defer { closed = true }
            return closed
        }
        guard !alreadyClosed else { return }
        let client = self.client
        _ = try? await BlockingLoop.run { client.destroy() }
    }
}
