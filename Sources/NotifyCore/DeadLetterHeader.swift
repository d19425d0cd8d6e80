/// Names of the headers the worker adds to a dead-letter record (values are
/// UTF-8 strings). See `schemas/dead-letter-headers.md`.
public enum DeadLetterHeader {
    /// Stable dotted code of the (first) error, e.g. `decode.json`.
    public static let errorCode = "dlq.error.code"
    /// Human-readable message of that error (no phone numbers).
    public static let errorMessage = "dlq.error.message"
    /// Topic the record was read from.
    public static let sourceTopic = "dlq.source.topic"
    /// Partition it was read from, decimal.
    public static let sourcePartition = "dlq.source.partition"
    /// Offset it was read at, decimal.
    public static let sourceOffset = "dlq.source.offset"
    /// When the worker gave up on it, RFC 3339 UTC.
    public static let failedAt = "dlq.failed.at"
    /// The id of the worker that dead-lettered it.
    public static let workerId = "dlq.worker.id"

    /// All of them, in the documented order.
    public static let all: [String] = [
        errorCode, errorMessage, sourceTopic, sourcePartition, sourceOffset, failedAt, workerId,
    ]
}
