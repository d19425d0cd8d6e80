/// An `OpaquePointer` to a librdkafka object that is safe to share between
/// threads.
///
/// librdkafka's handles (`rd_kafka_t`, `rd_kafka_queue_t`,
/// `rd_kafka_mock_cluster_t`) are documented as thread-safe; this wrapper only
/// states that to the compiler. Ownership stays with the type that holds it.
struct SendableOpaquePointer: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }
}
