public import Tracing

/// The W3C trace context of a record or a stored claim, as its two header
/// values (`traceparent`, `tracestate`), not yet parsed: a tracer reads them
/// with ``TraceHeaders/Extractor`` and writes them with ``TraceHeaders/Injector``.
///
/// On a Kafka record (product §11) the W3C names come first; CloudEvents'
/// binary mode carries the same values as `ce_traceparent`/`ce_tracestate`
/// (and structured mode as the event's `traceparent`/`tracestate` attributes,
/// which the decoder reads).
public struct TraceHeaders: Sendable, Hashable {
    /// The `traceparent` value, e.g. `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`.
    public var traceParent: String
    /// The `tracestate` value, if any.
    public var traceState: String?

    /// The header names, in the order they are looked for.
    public static let traceParentNames = ["traceparent", "ce_traceparent"]
    public static let traceStateNames = ["tracestate", "ce_tracestate"]

    public init(traceParent: String, traceState: String? = nil) {
        self.traceParent = traceParent
        self.traceState = traceState
    }

    /// The trace context of a Kafka record's headers: `traceparent` (and
    /// `tracestate`), else `ce_traceparent` (and `ce_tracestate`); `nil` when
    /// there is none. Values that are not UTF-8 count as absent. The value is
    /// not checked here: a tracer that cannot parse it starts a new trace.
    public static func kafka(_ headers: [(key: String, value: [UInt8]?)]) -> TraceHeaders? {
        for (index, parentName) in Self.traceParentNames.enumerated() {
            guard let parent = Self.value(named: parentName, in: headers) else { continue }
            return TraceHeaders(traceParent: parent, traceState: Self.value(named: Self.traceStateNames[index], in: headers))
        }
        return nil
    }

    /// The headers to put on a produced record: `traceparent`, and `tracestate` when there is one.
    public var kafkaHeaders: [(key: String, value: [UInt8])] {
        var headers: [(key: String, value: [UInt8])] = [(key: "traceparent", value: Array(self.traceParent.utf8))]
        if let traceState, !traceState.isEmpty { headers.append((key: "tracestate", value: Array(traceState.utf8))) }
        return headers
    }

    private static func value(named name: String, in headers: [(key: String, value: [UInt8]?)]) -> String? {
        for header in headers where header.key.lowercased() == name {
            guard let bytes = header.value, !bytes.isEmpty, let text = String(validating: bytes, as: UTF8.self) else { return nil }
            return text
        }
        return nil
    }

    /// Reads `traceparent`/`tracestate` out of ``TraceHeaders`` for `Tracer.extract`.
    public struct Extractor: Tracing.Extractor {
        public typealias Carrier = TraceHeaders
        public init() {}
        public func extract(key: String, from carrier: TraceHeaders) -> String? {
            switch key.lowercased() {
            case "traceparent": carrier.traceParent
            case "tracestate": carrier.traceState
            default: nil
            }
        }
    }

    /// Writes `traceparent`/`tracestate` into ``TraceHeaders`` for `Tracer.inject`.
    public struct Injector: Tracing.Injector {
        public typealias Carrier = TraceHeaders
        public init() {}
        public func inject(_ value: String, forKey key: String, into carrier: inout TraceHeaders) {
            switch key.lowercased() {
            case "traceparent": carrier.traceParent = value
            case "tracestate": carrier.traceState = value
            default: break
            }
        }
    }
}
