/// A record read from Kafka.
public struct KafkaConsumerMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// The record's timestamp (create or log-append time) in milliseconds
    /// since the epoch, when the broker supplied one.
    public var timestampMilliseconds: Int64?

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader], timestampMilliseconds: Int64?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }

    public var topicPartition: KafkaTopicPartition {
        KafkaTopicPartition(topic: self.topic, partition: self.partition)
    }
}

/// What a ``KafkaConsumer`` delivers, in the order librdkafka produced it.
public enum KafkaConsumerEvent: Sendable {
    /// Records, in offset order within each partition: one record, and those
    /// librdkafka had already fetched behind it, up to
    /// ``KafkaConsumerConfiguration/maxBatchSize``. Never empty.
    case messages([KafkaConsumerMessage])
    /// Partitions this member now owns (for cooperative assignment: the ones
    /// added; for eager: the whole new assignment).
    case partitionsAssigned([KafkaTopicPartition])
    /// Partitions this member is about to lose. They stay with this member,
    /// and their offsets can still be committed, until the application calls
    /// ``KafkaRevocation/acknowledge()`` (or the consumer's revocation timeout
    /// passes). No other member is assigned them before that.
    case partitionsRevoked(KafkaRevocation)
    /// A non-fatal error librdkafka reported (it keeps retrying by itself).
    case error(KafkaError)
}

/// A pending revocation. Finish or abandon in-flight work for
/// ``partitions``, commit, then ``acknowledge()``.
public struct KafkaRevocation: Sendable {
    /// The partitions being revoked.
    public let partitions: [KafkaTopicPartition]
    /// `true` when the partitions were already lost (session timed out):
    /// committing them will fail, another member may already own them.
    public let isLost: Bool
    let gate: RevocationGate

    /// Lets the consumer give the partitions up. Idempotent.
    public func acknowledge() {
        self.gate.open()
    }
}
