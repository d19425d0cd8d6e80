import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import NotifyCore
import NotifyHTTP
import NotifyStore
import NotifyTracing
import Tracing

/// Turns verified status reports into call-status events (product §5): finds
/// the request through the store, publishes one event keyed by idempotency
/// key, and answers `published` only once Kafka acknowledged it — so that
/// when Kafka is down AICC's retry is useful.
///
/// - A report that arrives before the dispatch outcome is recorded (AICC can
///   report faster than the worker records) waits for the outcome, up to
///   `outcomeWait`, then answers `unavailable` (AICC retries) — never dropped.
/// - A report on the URL of an `indeterminate` request proves the call was
///   placed: its serial number is recorded (`resolveInDoubt`), so later
///   duplicates carry it.
/// - Duplicate reports of a call (same key and `callSerialNo`) publish once:
///   the published ones are remembered in memory (the last 100,000). After a
///   restart a repeated report may publish again; consumers can dedupe on
///   `callSerialNo`.
/// - A report of a call of an escalation (product §12) is applied to it
///   before AICC is answered; a store that is out answers `unavailable`.
/// - The event continues its dispatch's trace (product §11): a `send <topic>`
///   span (kind producer) whose parent is the `traceparent` the claim kept in
///   the store, whichever replica dispatched; the record carries the span's
///   `traceparent`. A key stored without one starts a new trace.
final class CallStatusPublisher: StatusReportHandler {
    let store: any IdempotencyStore
    let producer: KafkaProducer
    let topic: String
    let logger: Logger
    /// How long a report waits for its request's outcome. Default 5 s.
    let outcomeWait: Duration
    let metrics: WorkerMetrics
    let tracing: WorkerTracing
    /// Escalation (product §12): told of each report of an escalation's call.
    let escalations: EscalationService?
    private let published = NIOLockedValueBox(RecentSet(capacity: 100_000))

    init(
        store: any IdempotencyStore, producer: KafkaProducer, topic: String, metrics: WorkerMetrics,
        tracing: WorkerTracing = .propagatingOnly, escalations: EscalationService? = nil, logger: Logger,
        outcomeWait: Duration = .seconds(5)
    ) {
        self.escalations = escalations
        self.tracing = tracing
        self.metrics = metrics
        self.store = store
        self.producer = producer
        self.topic = topic
        self.logger = logger
        self.outcomeWait = outcomeWait
    }

    func handle(_ report: StatusReport) async -> ReportDisposition {
        let identity = report.identity
        let serial = report.fields["callSerialNo"] ?? ""
        let deduplication = identity.idempotencyKey + "\n" + serial
        if self.published.withLockedValue({ $0.contains(deduplication) }) { return .published }

        let deadline = ContinuousClock.now + self.outcomeWait
        var record: StoredRecord
        while true {
            do {
                guard let found = try await self.store.lookup(key: identity.idempotencyKey),
                      found.requestId == identity.requestId
                else { return .unknownRequest }
                record = found
            } catch {
                self.logger.warning("status report: store unavailable", metadata: [LogKey.errorCode: "\(error.code)"])
                return .unavailable
            }
            if record.state == .done { break }
            guard ContinuousClock.now < deadline else { return .unavailable }
            try? await Task.sleep(for: .milliseconds(50))
        }
        if record.outcome == .indeterminate && record.callSerialNo == nil {
            do {
                if let resolved = try await self.store.resolveInDoubt(key: identity.idempotencyKey, callSerialNo: serial) {
                    record = resolved
                    self.logger.notice("in-doubt request resolved by a status report", metadata: [
                        LogKey.requestID: "\(identity.requestId)", LogKey.callSerialNo: "\(serial)",
                    ])
                }
            } catch {
                return .unavailable
            }
        }
        guard record.callSerialNo == serial else { return .unknownRequest }

        let parent = record.traceParent.map { TraceHeaders(traceParent: $0, traceState: record.traceState) }
        let span = self.tracing.tracer.startAnySpan(
            "send \(self.topic)", context: self.tracing.context(continuing: parent), ofKind: .producer)
        defer { span.end() }
        return await InstrumentationContext.withValue(span.context) {
            await self.publish(report, record: record, span: span)
        }
    }

    private func publish(_ report: StatusReport, record: StoredRecord, span: any Span) async -> ReportDisposition {
        let identity = report.identity
        let serial = record.callSerialNo ?? ""
        let deduplication = identity.idempotencyKey + "\n" + serial

        let event = CallStatusEvent(
            requestId: identity.requestId, idempotencyKey: identity.idempotencyKey, report: report.fields,
            callSerialNo: serial, receivedAt: report.receivedAt,
            attributes: record.result.map { NotificationResult.attributes(inJSON: $0) } ?? [:])
        let bytes = event.jsonBytes
        do {
            let trace = self.tracing.headers(of: span.context)?.kafkaHeaders.map { KafkaHeader(key: $0.key, value: $0.value) } ?? []
            _ = try await self.producer.send(
                KafkaProducerMessage(topic: self.topic, key: identity.idempotencyKey, value: bytes, headers: trace))
        } catch {
            span.attributes["error.type"] = (error as? KafkaError)?.code ?? "kafka.unknown"
            span.setStatus(SpanStatus(code: .error))
            self.logger.warning("call-status event not published; AICC will retry", metadata: [
                LogKey.requestID: "\(identity.requestId)", LogKey.errorCode: "\((error as? KafkaError)?.code ?? "kafka.unknown")",
            ])
            return .unavailable
        }
        // An answer ends an escalation, an unanswered report may start its next
        // step: applied before AICC is answered, so a report whose effect the
        // store did not take is sent again (its event may then be seen twice).
        if let escalations = self.escalations, !(await escalations.reportPublished(event)) {
            return .unavailable
        }
        self.published.withLockedValue { $0.insert(deduplication) }
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes.setKafkaMessaging(operation: "send", topic: self.topic, messageID: identity.requestId)
                attributes["aicc_notify.call.status"] = event.status.rawValue
            }
        }
        self.metrics.callback(status: event.status.rawValue)
        self.logger.info("call status", metadata: [
            LogKey.requestID: "\(identity.requestId)", LogKey.callSerialNo: "\(serial)", "call.status": "\(event.status.rawValue)",
        ])
        return .published
    }
}

/// The last `capacity` strings inserted.
struct RecentSet {
    private var members: Set<String> = []
    private var order: [String] = []
    private var head = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func contains(_ member: String) -> Bool { self.members.contains(member) }

    mutating func insert(_ member: String) {
        guard self.members.insert(member).inserted else { return }
        self.order.append(member)
        if self.members.count > self.capacity {
            self.members.remove(self.order[self.head])
            self.head += 1
            if self.head > 4096 {
                self.order.removeFirst(self.head)
                self.head = 0
            }
        }
    }
}
