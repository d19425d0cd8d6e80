import CRDKafka

/// An error from the Kafka layer.
///
/// `code` is stable and label-safe: it is used verbatim in logs, metric labels
/// and dead-letter headers. Codes that come from librdkafka are
/// `kafka.` + the lower-cased librdkafka error name without its leading
/// underscore (`kafka.msg_timed_out`, `kafka.not_leader_for_partition`); codes
/// of this layer itself are listed as static members below.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable, dotted, label-safe code.
    public var code: String
    /// Human-readable detail. May contain broker names; never credentials.
    public var message: String
    /// The same operation may succeed if tried again later.
    public var isRetriable: Bool
    /// The client instance can no longer be used (librdkafka fatal error).
    public var isFatal: Bool
    /// The librdkafka `rd_kafka_resp_err_t` value, when the error came from it.
    public var rdKafkaCode: Int32?

    public init(code: String, message: String, isRetriable: Bool = false, isFatal: Bool = false, rdKafkaCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.rdKafkaCode = rdKafkaCode
    }

    public var description: String {
        "\(self.code): \(self.message)"
    }

    /// A short description safe for metric labels: the code alone.
    public var shortDescription: String { self.code }

    // MARK: Codes of this layer

    /// A configuration property was rejected by librdkafka; the message names it.
    public static func invalidConfiguration(_ message: String) -> KafkaError {
        KafkaError(code: "kafka.config.invalid", message: message)
    }

    /// The client was shut down before the operation could complete.
    public static func shutDown(_ message: String) -> KafkaError {
        KafkaError(code: "kafka.shutdown", message: message, isRetriable: true)
    }

    /// The consumer or producer is in a state that does not allow the operation.
    public static func state(_ message: String) -> KafkaError {
        KafkaError(code: "kafka.state", message: message)
    }
}

extension KafkaError {
    /// Errors that librdkafka reports for conditions that pass: a later attempt
    /// may succeed. librdkafka only classifies `rd_kafka_error_t` objects, not
    /// plain response codes (delivery reports, commit results), so the list
    /// for those lives here.
    static let retriableResponseCodes: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
        RD_KAFKA_RESP_ERR__TRANSPORT,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
        RD_KAFKA_RESP_ERR__QUEUE_FULL,
        RD_KAFKA_RESP_ERR__PURGE_QUEUE,
        RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
        RD_KAFKA_RESP_ERR__WAIT_COORD,
        RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
        RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
        RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND,
        RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED,
    ]

    /// The stable code for a librdkafka response code.
    static func code(for err: rd_kafka_resp_err_t) -> String {
        var name = String(cString: rd_kafka_err2name(err))
        while name.hasPrefix("_") { name.removeFirst() }
        return "kafka." + name.lowercased()
    }

    /// An error from a librdkafka response code.
    init(rdKafka err: rd_kafka_resp_err_t, context: String? = nil) {
        let text = String(cString: rd_kafka_err2str(err))
        self.init(
            code: Self.code(for: err),
            message: context.map { "\($0): \(text)" } ?? text,
            isRetriable: Self.retriableResponseCodes.contains(err),
            isFatal: err == RD_KAFKA_RESP_ERR__FATAL,
            rdKafkaCode: err.rawValue
        )
    }

    /// An error from a librdkafka error object; takes ownership and destroys it.
    init(consuming error: OpaquePointer, context: String? = nil) {
        defer { rd_kafka_error_destroy(error) }
        let err = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        self.init(
            code: Self.code(for: err),
            message: context.map { "\($0): \(text)" } ?? text,
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || Self.retriableResponseCodes.contains(err),
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            rdKafkaCode: err.rawValue
        )
    }
}
