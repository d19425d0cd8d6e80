import Logging

/// The worker's log metadata keys, in one place (dotted, stable: dashboards
/// and log queries rely on them). Values never carry secrets; phone numbers
/// only ever appear masked (`PhoneNumberMask`).
public enum LogKey {
    /// `request.id`: the notification request's `requestId`.
    public static let requestID = "request.id"
    /// An escalation's id (`esc:…`, product §12).
    public static let escalationID = "escalation.id"
    /// `request.key`: its idempotency key.
    public static let idempotencyKey = "request.key"
    /// `request.called`: the called number, masked to its last 4 digits.
    public static let called = "request.called"
    /// `kafka.topic`, `kafka.partition`, `kafka.offset`: where the record was read.
    public static let topic = "kafka.topic"
    public static let partition = "kafka.partition"
    public static let offset = "kafka.offset"
    /// `kafka.partitions`: a list of `topic[partition]`.
    public static let partitions = "kafka.partitions"
    /// `dispatch.outcome`: the result's outcome.
    public static let outcome = "dispatch.outcome"
    /// `dispatch.attempt`: the attempt number of an AICC call.
    public static let attempt = "dispatch.attempt"
    /// `aicc.callSerialNo`: AICC's call serial number.
    public static let callSerialNo = "aicc.callSerialNo"
    /// `error.code` / `error.message`: a stable code and a safe description.
    public static let errorCode = "error.code"
    public static let errorMessage = "error.message"
    /// `worker.id`, `worker.incarnation`: who this process is.
    public static let workerID = "worker.id"
    public static let incarnation = "worker.incarnation"
    /// `dispatch.inFlight`: records in the worker.
    public static let inFlight = "dispatch.inFlight"
}
