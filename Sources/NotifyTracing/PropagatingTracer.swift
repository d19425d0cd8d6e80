import Logging
public import Tracing
import W3CTraceContext

/// The tracer of a worker that exports nothing (`tracing.otlpEndpoint`
/// unset, the default): it records nothing, but every span still has an
/// identity, so that the trace context flows from the request record to the
/// result, dead-letter and call-status records and into the log lines
/// (product §11). A span is a value (no allocation, no lock); ending it does nothing.
///
/// A span continues its parent's trace and flags (a producer's `sampled`
/// decision reaches downstream consumers unchanged); a new root is not
/// sampled, since nothing here records it.
public struct PropagatingTracer: Tracer {
    public typealias Span = PropagatingSpan

    public init() {}

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> InstrumentationContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> PropagatingSpan {
        var context = context()
        let parent = context.propagatedTraceContext
        let current = TraceContext(
            traceID: parent?.traceID ?? .random(), spanID: .random(), flags: parent?.flags ?? [],
            state: parent?.state ?? TraceState())
        context.propagatedTraceContext = current
        return PropagatingSpan(context: context)
    }

    public func forceFlush() {}

    public func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let parent = extractor.extract(key: "traceparent", from: carrier) else { return }
        let state = extractor.extract(key: "tracestate", from: carrier)
        // A malformed header is never a reason to refuse work: the span becomes a new root.
        guard let parsed = try? TraceContext(traceParentHeaderValue: parent, traceStateHeaderValue: state) else { return }
        context.propagatedTraceContext = parsed
    }

    public func inject<Carrier, Inject: Injector>(
        _ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let traceContext = context.propagatedTraceContext else { return }
        injector.inject(traceContext.traceParentHeaderValue, forKey: "traceparent", into: &carrier)
        if let state = traceContext.traceStateHeaderValue, !state.isEmpty {
            injector.inject(state, forKey: "tracestate", into: &carrier)
        }
    }

    /// `trace_id`, `span_id` and `trace_flags` of the current span of this tracer.
    static let metadataProvider = Logger.MetadataProvider {
        guard let traceContext = InstrumentationContext.current?.propagatedTraceContext else { return [:] }
        return [
            "trace_id": "\(traceContext.traceID)",
            "span_id": "\(traceContext.spanID)",
            "trace_flags": "\(traceContext.flags.rawValue)",
        ]
    }
}

/// A span of ``PropagatingTracer``: an identity and nothing else.
public struct PropagatingSpan: Tracing.Span {
    public let context: InstrumentationContext

    public var operationName: String {
        get { "" }
        nonmutating set {}
    }

    public var attributes: SpanAttributes {
        get { [:] }
        nonmutating set {}
    }

    public var isRecording: Bool { false }

    public func setStatus(_ status: SpanStatus) {}
    public func addEvent(_ event: SpanEvent) {}
    public func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {}
    public func addLink(_ link: SpanLink) {}
    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {}
}

private enum PropagatedTraceContextKey: InstrumentationContextKey {
    typealias Value = TraceContext
    static var nameOverride: String? { "aicc-notify-trace-context" }
}

extension InstrumentationContext {
    /// The span context that ``PropagatingTracer`` keeps.
    var propagatedTraceContext: TraceContext? {
        get { self[PropagatedTraceContextKey.self] }
        set { self[PropagatedTraceContextKey.self] = newValue }
    }
}
