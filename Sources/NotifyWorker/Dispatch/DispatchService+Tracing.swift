import Kafka
import NIOConcurrencyHelpers
import NotifyCore
import NotifyTracing
import Tracing

/// Trace context (product §11): each record is one `process <topic>` span
/// (OpenTelemetry messaging conventions, kind consumer), the child of the
/// record's `traceparent` (W3C header, else CloudEvents' `ce_traceparent`
/// header or structured `traceparent` attribute), or a new root. The store
/// steps and the AICC calls run inside it (the calls are client spans of
/// their own); the result and dead-letter records carry its `traceparent`,
/// and the claim keeps it for the call-status events.
///
/// Attributes never hold a phone number, a key or a token: only where the
/// record was read, its size, its `requestId` and, at the end, the outcome.
extension DispatchService {
    func startSpan(_ message: KafkaConsumerMessage, headers: [(key: String, value: [UInt8]?)], decoded: DecodeResult) -> any Span {
        let parent = TraceHeaders.kafka(headers) ?? decoded.cloudEvent.flatMap { event in
            event.traceParent.map { TraceHeaders(traceParent: $0, traceState: event.traceState) }
        }
        let span = self.tracing.tracer.startAnySpan(
            "process \(message.topic)", context: self.tracing.context(continuing: parent), ofKind: .consumer)
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes.setKafkaMessaging(operation: "process", topic: message.topic, messageID: decoded.requestId)
                attributes["messaging.destination.partition.id"] = "\(message.partition)"
                attributes["messaging.kafka.offset"] = Int(message.offset)
                attributes["messaging.message.body.size"] = message.value.count
                attributes["messaging.consumer.group.name"] = self.configuration.groupID
                attributes["aicc_notify.record.kind"] = "\(decoded.kind)"
            }
        }
        return span
    }

    /// The record's span context, to run its steps in.
    func spanContext(_ id: RecordID) -> InstrumentationContext? {
        self.side.withLockedValue { $0.spans[id]?.context }
    }

    /// The `traceparent`/`tracestate` headers of the record's span.
    func traceHeaders(_ id: RecordID) -> [KafkaHeader] {
        guard let context = self.spanContext(id), let headers = self.tracing.headers(of: context) else { return [] }
        return headers.kafkaHeaders.map { KafkaHeader(key: $0.key, value: $0.value) }
    }

    /// The W3C trace context of the running step, for the claim to keep.
    func currentTraceHeaders() -> TraceHeaders? {
        InstrumentationContext.current.flatMap { self.tracing.headers(of: $0) }
    }

    /// Ends the record's span once its last record is out (the machine no
    /// longer holds it).
    func endSpanIfFinished(_ id: RecordID, _ annotate: (any Span) -> Void) {
        guard !self.machine.withLockedValue({ $0.isTracking(id) }) else { return }
        guard let span = self.side.withLockedValue({ $0.spans.removeValue(forKey: id) }) else { return }
        if span.isRecording { annotate(span) }
        span.end()
    }

    /// Ends, marked abandoned, the spans of records the worker let go of
    /// (revoked partitions, shutdown).
    func endSpans(where isDropped: (RecordID) -> Bool) {
        let dropped: [any Span] = self.side.withLockedValue { side in
            let ids = side.spans.keys.filter(isDropped)
            return ids.compactMap { side.spans.removeValue(forKey: $0) }
        }
        for span in dropped {
            if span.isRecording { span.attributes["aicc_notify.abandoned"] = true }
            span.end()
        }
    }
}

extension SpanAttributes {
    /// OpenTelemetry's messaging attributes of a Kafka span: system,
    /// operation (`process`, `send`), topic and, when known, the request id
    /// as the message id (never a phone number).
    mutating func setKafkaMessaging(operation: String, topic: String, messageID: String?) {
        self["messaging.system"] = "kafka"
        self["messaging.operation.type"] = operation
        self["messaging.operation.name"] = operation
        self["messaging.destination.name"] = topic
        if let messageID { self["messaging.message.id"] = messageID }
    }
}
