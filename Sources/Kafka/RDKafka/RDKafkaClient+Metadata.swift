import CRDKafka

extension RDKafkaClient {
    /// The partition ids of `topic`, asked of the brokers. Blocks for up to
    /// `timeoutMilliseconds`: call it on the blocking pool. librdkafka caches
    /// the answer, so a producer that asked no longer holds its first record
    /// to the topic for a metadata round of its own. Throws `kafka.shutdown`
    /// once the client is destroyed.
    func partitions(of topic: String, timeoutMilliseconds: Int32) throws(KafkaError) -> [Int32] {
        try self.withLiveHandle { (handle: OpaquePointer) throws(KafkaError) -> [Int32] in
            try Self.partitions(of: topic, handle: handle, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// ``partitions(of:timeoutMilliseconds:)`` for a caller that already
    /// holds the live handle (``withLiveHandle(_:)``).
    static func partitions(of topic: String, handle: OpaquePointer, timeoutMilliseconds: Int32) throws(KafkaError) -> [Int32] {
        guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else {
            throw KafkaError(rdKafka: rd_kafka_last_error(), context: "cannot open topic \(topic)")
        }
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, topicHandle, &metadata, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(rdKafka: err, context: "metadata for \(topic)")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt == 1, let topics = metadata.pointee.topics else {
            throw KafkaError(code: "kafka.metadata", message: "no metadata for \(topic)")
        }
        let entry = topics[0]
        if entry.err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(rdKafka: entry.err, context: "topic \(topic)") }
        return (0..<Int(entry.partition_cnt)).map { entry.partitions[$0].id }
    }
}
