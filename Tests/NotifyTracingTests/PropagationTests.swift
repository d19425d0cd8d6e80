import Logging
import NotifyTracing
import Testing
import Tracing

/// Both of the worker's tracers — the propagating one (export off) and
/// swift-otel's (export on) — continue a producer's trace, start a new one
/// when there is none or it does not parse, and put the ids in log lines.
@Suite struct PropagationTests {
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let parentSpanID = "00f067aa0ba902b7"
    static let parent = "00-\(traceID)-\(parentSpanID)-01"

    enum Kind: String, CaseIterable, Sendable { case propagating, otel }

    static func tracing(_ kind: Kind) throws -> WorkerTracing {
        switch kind {
        case .propagating:
            return .propagatingOnly
        case .otel:
            // Never run: nothing is exported, the tracer alone is under test.
            let tracing = try WorkerTracing.make(
                .init(otlpEndpoint: "http://127.0.0.1:9", serviceVersion: "test", serviceInstanceID: "test"),
                environment: [:], logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), spansDropped: { _ in })
            #expect(tracing.isExporting)
            return tracing
        }
    }

    /// `traceparent` split into its four fields (and checked for form).
    static func fields(_ traceParent: String) throws -> (version: String, traceID: String, spanID: String, flags: String) {
        let parts = traceParent.split(separator: "-").map(String.init)
        try #require(parts.count == 4, "\(traceParent)")
        let hex = Set("0123456789abcdef")
        try #require(parts[1].count == 32 && parts[1].allSatisfy(hex.contains) && parts[1] != String(repeating: "0", count: 32))
        try #require(parts[2].count == 16 && parts[2].allSatisfy(hex.contains) && parts[2] != String(repeating: "0", count: 16))
        return (parts[0], parts[1], parts[2], parts[3])
    }

    @Test(arguments: Kind.allCases)
    func aSpanContinuesTheProducersTrace(_ kind: Kind) throws {
        let tracing = try Self.tracing(kind)
        let context = tracing.context(continuing: TraceHeaders(traceParent: Self.parent, traceState: "vendor=abc"))
        let span = tracing.tracer.startAnySpan("process requests", context: context, ofKind: .consumer)
        defer { span.end() }
        let headers = try #require(tracing.headers(of: span.context))
        let fields = try Self.fields(headers.traceParent)
        #expect(fields.version == "00")
        #expect(fields.traceID == Self.traceID)
        #expect(fields.spanID != Self.parentSpanID)
        #expect(fields.flags == "01", "a sampled parent stays sampled downstream")
        #expect(headers.traceState == "vendor=abc")

        // A child (the AICC call) continues it too.
        let child = tracing.tracer.startAnySpan("POST /x", context: span.context, ofKind: .client)
        defer { child.end() }
        let childFields = try Self.fields(try #require(tracing.headers(of: child.context)).traceParent)
        #expect(childFields.traceID == Self.traceID)
        #expect(childFields.spanID != fields.spanID)
    }

    @Test(arguments: Kind.allCases, [
        nil, "garbage", "00-\(traceID)-\(parentSpanID)", "00-00000000000000000000000000000000-\(parentSpanID)-01",
        "00-\(traceID)-0000000000000000-01", "ff-\(traceID)-\(parentSpanID)-01", "00-\(traceID.uppercased())-\(parentSpanID)-01",
    ])
    func aMissingOrMalformedParentStartsANewTrace(_ kind: Kind, _ header: String?) throws {
        let tracing = try Self.tracing(kind)
        let context = tracing.context(continuing: header.map { TraceHeaders(traceParent: $0) })
        let span = tracing.tracer.startAnySpan("process requests", context: context, ofKind: .consumer)
        defer { span.end() }
        let fields = try Self.fields(try #require(tracing.headers(of: span.context)).traceParent)
        #expect(fields.version == "00")
        #expect(fields.traceID != Self.traceID)
    }

    @Test(arguments: Kind.allCases)
    func logLinesCarryTheTraceAndSpanIDs(_ kind: Kind) throws {
        let tracing = try Self.tracing(kind)
        let span = tracing.tracer.startAnySpan(
            "process requests", context: tracing.context(continuing: TraceHeaders(traceParent: Self.parent)), ofKind: .consumer)
        defer { span.end() }
        let fields = try Self.fields(try #require(tracing.headers(of: span.context)).traceParent)
        let metadata = InstrumentationContext.withValue(span.context) { WorkerTracing.loggingMetadataProvider.get() }
        #expect(metadata["trace_id"] == "\(Self.traceID)")
        #expect(metadata["span_id"] == "\(fields.spanID)")
        #expect(WorkerTracing.loggingMetadataProvider.get()["trace_id"] == nil, "no span, no ids")
    }
}
