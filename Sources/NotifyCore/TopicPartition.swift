/// A topic and one of its partitions, as the dispatch core sees it.
///
/// `NotifyCore` never imports the Kafka adapter; the worker maps its
/// `KafkaTopicPartition` onto this one-to-one.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Topic name.
    public var topic: String
    /// Partition number.
    public var partition: Int32

    /// Creates a topic-partition.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// A position to commit: `offset` is the *next* offset the group should read
/// (the lowest unfinished offset, or the last finished offset + 1), as Kafka
/// defines a committed offset.
public struct CommitPosition: Sendable, Hashable, CustomStringConvertible {
    /// The partition.
    public var partition: TopicPartition
    /// The next offset to read.
    public var offset: Int64

    /// Creates a position.
    public init(partition: TopicPartition, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }

    public var description: String { "\(partition)@\(offset)" }
}
