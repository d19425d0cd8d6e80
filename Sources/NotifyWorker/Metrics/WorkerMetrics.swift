public import CoreMetrics
import NotifyCore

/// The worker's metrics (product §8), through swift-metrics with the factory
/// it is given (the worker passes a Prometheus factory over its own registry;
/// nothing is bootstrapped globally). Every label set is bounded: outcomes,
/// error codes and release statuses are fixed sets, HTTP statuses three digits,
/// retCodes the documented ones (anything else is `other`).
///
/// | metric | type | labels |
/// |---|---|---|
/// | `aicc_notify_requests_total` | counter | `outcome` — results published, by outcome |
/// | `aicc_notify_results_republished_total` | counter | — stored results published again (redeliveries) |
/// | `aicc_notify_aicc_calls_total` | counter | `http_status`, `ret_code` (`none` without an answer) |
/// | `aicc_notify_aicc_call_duration_seconds` | histogram | — one create call |
/// | `aicc_notify_end_to_end_seconds` | histogram | — record timestamp to result acknowledged |
/// | `aicc_notify_retries_total` | counter | — retries scheduled |
/// | `aicc_notify_dead_lettered_total` | counter | `code` |
/// | `aicc_notify_in_flight` | gauge | — records in the worker |
/// | `aicc_notify_paused_partitions` | gauge | — partitions paused (in-flight bound, outage, shutdown) |
/// | `aicc_notify_outage` | gauge | — 1 while the outage breaker is open |
/// | `aicc_notify_callbacks_total` | counter | `status` (answered, unanswered, failed, unknown) |
/// | `aicc_notify_token_refreshes_total` | counter | `result` (`ok`, `error`) — `tokenByAkSk` round trips for the token cache |
/// | `aicc_notify_alerts_total` | counter | `result` (routed, resolved, unmatched, invalid) — alert records' alerts (§9) |
/// | `aicc_notify_consumer_lag` | gauge | — records behind the end of this worker's partitions, counted from its last committed offsets |
public struct WorkerMetrics: Sendable {
    let factory: any MetricsFactory
    private let requests: [NotificationResult.Outcome: Counter]
    private let republished: Counter
    private let callDuration: Timer
    private let endToEndTimer: Timer
    private let retries: Counter
    let inFlight: Gauge
    let pausedPartitions: Gauge
    let outage: Gauge
    let consumerLag: Gauge
    private let tokenRefreshes: Counter
    private let tokenRefreshFailures: Counter
    private let spansDropped: Counter

    /// Metrics made with `factory`.
    public init(factory: any MetricsFactory) {
        self.factory = factory
        var requests: [NotificationResult.Outcome: Counter] = [:]
        for outcome in NotificationResult.Outcome.allCases {
            requests[outcome] = Counter(label: "aicc_notify_requests_total", dimensions: [("outcome", outcome.rawValue)], factory: factory)
        }
        self.requests = requests
        self.republished = Counter(label: "aicc_notify_results_republished_total", factory: factory)
        self.callDuration = Timer(label: "aicc_notify_aicc_call_duration_seconds", factory: factory)
        self.endToEndTimer = Timer(label: "aicc_notify_end_to_end_seconds", factory: factory)
        self.retries = Counter(label: "aicc_notify_retries_total", factory: factory)
        self.inFlight = Gauge(label: "aicc_notify_in_flight", factory: factory)
        self.pausedPartitions = Gauge(label: "aicc_notify_paused_partitions", factory: factory)
        self.outage = Gauge(label: "aicc_notify_outage", factory: factory)
        self.consumerLag = Gauge(label: "aicc_notify_consumer_lag", factory: factory)
        self.tokenRefreshes = Counter(label: "aicc_notify_token_refreshes_total", dimensions: [("result", "ok")], factory: factory)
        self.tokenRefreshFailures = Counter(label: "aicc_notify_token_refreshes_total", dimensions: [("result", "error")], factory: factory)
        self.spansDropped = Counter(label: "aicc_notify_trace_spans_dropped_total", factory: factory)
    }

    /// Finished spans the full export queue dropped (the collector is slow or out).
    func tracesDropped(_ count: Int) {
        self.spansDropped.increment(by: count)
    }

    func tokenFetched(succeeded: Bool) {
        (succeeded ? self.tokenRefreshes : self.tokenRefreshFailures).increment()
    }

    func resultPublished(_ outcome: NotificationResult.Outcome) {
        self.requests[outcome]?.increment()
    }

    func resultRepublished() {
        self.republished.increment()
    }

    func aiccCall(httpStatus: Int?, retCode: String?, duration: Duration) {
        var status = "none"
        if let httpStatus { status = (100...599).contains(httpStatus) ? String(httpStatus) : "other" }
        var code = "none"
        if let retCode { code = Self.documentedRetCodes.contains(retCode) ? retCode : "other" }
        let dimensions: [(String, String)] = [("http_status", status), ("ret_code", code)]
        Counter(label: "aicc_notify_aicc_calls_total", dimensions: dimensions, factory: self.factory).increment()
        self.callDuration.recordNanoseconds(Self.nanoseconds(duration))
    }

    func endToEnd(milliseconds: Int64) {
        guard milliseconds >= 0 else { return }
        self.endToEndTimer.recordMilliseconds(milliseconds)
    }

    func retryScheduled() {
        self.retries.increment()
    }

    /// What became of an alert (product §9).
    enum AlertResult: String, CaseIterable {
        case routed, resolved, unmatched, invalid
    }

    func alertRouted(_ result: AlertResult) {
        Counter(label: "aicc_notify_alerts_total", dimensions: [("result", result.rawValue)], factory: self.factory).increment()
    }

    /// `aicc_notify_escalations_total{state}` (product §12): one per decision.
    func escalation(_ state: String) {
        Counter(label: "aicc_notify_escalations_total", dimensions: [("state", state)], factory: self.factory).increment()
    }

    /// `aicc_notify_escalations_pending`: escalations not ended, as the store counts them.
    func escalationsPending(_ count: Int) {
        Gauge(label: "aicc_notify_escalations_pending", factory: self.factory).record(count)
    }

    func deadLettered(code: String) {
        let dimensions: [(String, String)] = [("code", Self.labelSafe(code))]
        Counter(label: "aicc_notify_dead_lettered_total", dimensions: dimensions, factory: self.factory).increment()
    }

    func callback(status: String) {
        let dimensions: [(String, String)] = [("status", status)]
        Counter(label: "aicc_notify_callbacks_total", dimensions: dimensions, factory: self.factory).increment()
    }

    static let documentedRetCodes: Set<String> = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "16", "36"]

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Codes are dotted lower-case words; anything else collapses to `other`.
    static func labelSafe(_ code: String) -> String {
        guard code.count <= 64 else { return "other" }
        for scalar in code.unicodeScalars {
            switch scalar {
            case "a"..."z", "0"..."9", ".", "_": continue
            default: return "other"
            }
        }
        return code
    }
}
