import CRDKafka

/// Conversions between Swift values and `rd_kafka_topic_partition_list_t`.
enum RDKafkaTopicPartitionList {
    /// Reads the topic/partition pairs of a list (offsets ignored).
    static func partitions(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elements = list.pointee.elems else { return [] }
        return (0..<count).map { index in
            let element = elements[index]
            return KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
        }
    }

    /// Runs `body` with a new list holding the given entries (offset per entry,
    /// or `RD_KAFKA_OFFSET_INVALID`), then destroys it.
    static func withList<Result>(
        _ entries: [(KafkaTopicPartition, Int64)],
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> Result
    ) rethrows -> Result {
        let list = rd_kafka_topic_partition_list_new(Int32(max(1, entries.count)))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (topicPartition, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(list, topicPartition.topic, topicPartition.partition)!
            element.pointee.offset = offset
        }
        return try body(list)
    }

    /// The first per-partition error in a list, if any.
    static func firstError(in list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> (KafkaTopicPartition, rd_kafka_resp_err_t)? {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elements = list.pointee.elems else { return nil }
        for index in 0..<count where elements[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let element = elements[index]
            return (KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition), element.err)
        }
        return nil
    }
}
