import CRDKafka

/// A partition's low and high watermarks: the first offset still stored and
/// the offset the next produced record will get.
public struct KafkaWatermarks: Sendable, Hashable {
    public var low: Int64
    public var high: Int64
}

extension KafkaConsumer {
    /// The partitions of `topic` with their watermarks, asked of the brokers
    /// (blocking calls, run on the blocking pool). Used for lag and for reading
    /// a topic "up to where it ends now".
    public func watermarks(topic: String, timeout: Duration = .seconds(10)) async throws -> [Int32: KafkaWatermarks] {
        let client = self.client
        let milliseconds = Int32(clamping: timeout.milliseconds)
        return try await BlockingLoop.run { () throws -> [Int32: KafkaWatermarks] in
            try client.withLiveHandle { (handle: OpaquePointer) throws(KafkaError) -> [Int32: KafkaWatermarks] in
                var result: [Int32: KafkaWatermarks] = [:]
                for partition in try RDKafkaClient.partitions(of: topic, handle: handle, timeoutMilliseconds: milliseconds) {
                    var low: Int64 = 0
                    var high: Int64 = 0
                    let err = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, milliseconds)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(rdKafka: err, context: "watermarks of \(topic)[\(partition)]") }
                    result[partition] = KafkaWatermarks(low: low, high: high)
                }
                return result
            }
        }
    }
}

extension KafkaConsumer {
    /// The high watermark librdkafka last learned for `partition` from its
    /// fetches (no request; `nil` before the first fetch). Cheap enough to call
    /// every second for a lag gauge.
    public func cachedHighWatermark(_ partition: KafkaTopicPartition) -> Int64? {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_get_watermark_offsets(self.client.handle, partition.topic, partition.partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return high
    }

    /// Whether the cluster has `topic`, from a metadata request for *all*
    /// topics: asking about the one topic could make a broker with
    /// `auto.create.topics.enable` create it.
    public func topicExists(_ topic: String, timeout: Duration = .seconds(10)) async throws -> Bool {
        let client = self.client
        let milliseconds = Int32(clamping: timeout.milliseconds)
        return try await BlockingLoop.run { () throws -> Bool in
            try client.withLiveHandle { (handle: OpaquePointer) throws(KafkaError) -> Bool in
                var metadata: UnsafePointer<rd_kafka_metadata>?
                let err = rd_kafka_metadata(handle, 1, nil, &metadata, milliseconds)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                    throw KafkaError(rdKafka: err, context: "metadata")
                }
                defer { rd_kafka_metadata_destroy(metadata) }
                guard let topics = metadata.pointee.topics else { return false }
                for index in 0..<Int(metadata.pointee.topic_cnt) where String(cString: topics[index].topic) == topic {
                    return topics[index].err == RD_KAFKA_RESP_ERR_NO_ERROR
                }
                return false
            }
        }
    }
}
