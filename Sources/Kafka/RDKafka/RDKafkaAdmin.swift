import CRDKafka

/// librdkafka's admin API (`rd_kafka_CreateTopics`) for ``KafkaAdmin``. The
/// call blocks until the broker answers: run it off the cooperative pool.
enum RDKafkaAdmin {
    /// What the broker answered for one topic.
    struct TopicResult: Sendable {
        var name: String
        /// `nil` when the topic was created.
        var error: KafkaError?
    }

    /// Creates `topics` and waits for the answer: the request and the broker's
    /// operation each get `timeoutMilliseconds`. Throws when the request as a
    /// whole failed (bad arguments, no answer, a request-level error);
    /// per-topic failures come back in the results.
    static func createTopics(handle: OpaquePointer, topics: [KafkaNewTopic], timeoutMilliseconds: Int32) throws(KafkaError) -> [TopicResult] {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        func detail() -> String {
            String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        // librdkafka copies the NewTopic objects in rd_kafka_CreateTopics; they
        // stay ours to destroy.
        var newTopics: [OpaquePointer?] = []
        defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
        for topic in topics {
            guard let newTopic = rd_kafka_NewTopic_new(
                topic.name,
                Int32(clamping: topic.partitions),
                Int32(clamping: topic.replicationFactor ?? -1),
                &errorBuffer,
                errorBuffer.count
            ) else {
                throw KafkaError.invalidConfiguration("topic \(topic.name): \(detail())")
            }
            newTopics.append(newTopic)
        }

        guard let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS) else {
            throw KafkaError.state("rd_kafka_AdminOptions_new failed")
        }
        defer { rd_kafka_AdminOptions_destroy(options) }
        guard rd_kafka_AdminOptions_set_request_timeout(options, timeoutMilliseconds, &errorBuffer, errorBuffer.count) == RD_KAFKA_RESP_ERR_NO_ERROR,
              rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMilliseconds, &errorBuffer, errorBuffer.count) == RD_KAFKA_RESP_ERR_NO_ERROR
        else {
            throw KafkaError.invalidConfiguration("create topics timeout: \(detail())")
        }

        // A queue of our own: the result event arrives on it and nowhere else.
        guard let queue = rd_kafka_queue_new(handle) else {
            throw KafkaError.state("rd_kafka_queue_new failed")
        }
        defer { rd_kafka_queue_destroy(queue) }
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(handle, buffer.baseAddress, buffer.count, options, queue)
        }

        // librdkafka answers by the request timeout at the latest; the margin
        // only guards against a lost event.
        guard let event = rd_kafka_queue_poll(queue, Int32(clamping: Int(timeoutMilliseconds) + 5_000)) else {
            throw KafkaError(rdKafka: RD_KAFKA_RESP_ERR__TIMED_OUT, context: "create topics: no answer")
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            throw KafkaError(rdKafka: err, context: "create topics (\(text))")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(code: "kafka.admin.unexpected_event", message: "create topics: the answer was not a CreateTopics result")
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count), count > 0 else { return [] }
        var answers: [TopicResult] = []
        for index in 0..<count {
            guard let topicResult = results[index] else { continue }
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let topicErr = rd_kafka_topic_result_error(topicResult)
            if topicErr == RD_KAFKA_RESP_ERR_NO_ERROR {
                answers.append(TopicResult(name: name, error: nil))
            } else {
                let text = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) }
                let context = "create topic \(name)" + (text.map { " (\($0))" } ?? "")
                answers.append(TopicResult(name: name, error: KafkaError(rdKafka: topicErr, context: context)))
            }
        }
        return answers
    }
}
