import Logging
import NIOConcurrencyHelpers
import NotifyTracing
import ServiceLifecycle
import TestServers
import Testing
import Tracing

/// Export over OTLP/HTTP to a real local endpoint (`Tests/otlp-sink.py`).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ExportTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `tracing`'s exporter while `body` runs, then shuts it down
    /// gracefully (which flushes what is queued).
    static func withExporter(_ tracing: WorkerTracing, _ body: () async throws -> Void) async throws {
        let exporter = try #require(tracing.exporter)
        let group = ServiceGroup(configuration: .init(services: [exporter], logger: Self.quiet))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func spansReachTheCollectorAsOTLPProtobufWithTheServiceName() async throws {
        let sink = try OTLPSink.start()
        defer { sink.stop() }
        var settings = WorkerTracing.Settings(otlpEndpoint: sink.endpoint, serviceVersion: "9.9.9", serviceInstanceID: "worker-7")
        settings.scheduleDelay = .milliseconds(100)
        let tracing = try WorkerTracing.make(settings, environment: [:], logger: Self.quiet, spansDropped: { _ in })
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        try await Self.withExporter(tracing) {
            let span = tracing.tracer.startAnySpan(
                "process notification.requests", context: tracing.context(continuing: TraceHeaders(traceParent: parent)),
                ofKind: .consumer)
            span.attributes["messaging.system"] = "kafka"
            span.end()
        }
        let requests = sink.requests()
        try #require(!requests.isEmpty, "no export reached the sink")
        #expect(requests.allSatisfy { $0.path == "/v1/traces" && $0.contentType == "application/x-protobuf" })
        let body = requests.flatMap(\.body)
        let traceIDBytes: [UInt8] = [0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36]
        #expect(body.contains(bytes: traceIDBytes))
        #expect(body.contains(bytes: Array("process notification.requests".utf8)))
        #expect(body.contains(bytes: Array("aicc-notify".utf8)))
        #expect(body.contains(bytes: Array("worker-7".utf8)))
        #expect(body.contains(bytes: Array("messaging.system".utf8)))
    }

    @Test func theStandardEnvironmentTurnsExportOnAndWins() async throws {
        let sink = try OTLPSink.start()
        defer { sink.stop() }
        var settings = WorkerTracing.Settings(otlpEndpoint: nil, serviceVersion: "1", serviceInstanceID: "w")
        settings.scheduleDelay = .milliseconds(100)
        let tracing = try WorkerTracing.make(
            settings, environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_SERVICE_NAME": "notify-eu-1"],
            logger: Self.quiet, spansDropped: { _ in })
        #expect(tracing.isExporting)
        try await Self.withExporter(tracing) {
            tracing.tracer.startAnySpan("one", context: .topLevel, ofKind: .internal).end()
        }
        let body = sink.requests().flatMap(\.body)
        #expect(body.contains(bytes: Array("notify-eu-1".utf8)))
        // Nothing set: no export. OTEL_SDK_DISABLED: no export either.
        #expect(try !WorkerTracing.make(settings, environment: [:], logger: Self.quiet, spansDropped: { _ in }).isExporting)
        #expect(try !WorkerTracing.make(
            settings, environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_SDK_DISABLED": "true"],
            logger: Self.quiet, spansDropped: { _ in }).isExporting)
    }

    @Test func aBadEndpointIsRefused() {
        #expect(throws: TracingError.self) {
            _ = try WorkerTracing.make(
                .init(otlpEndpoint: "collector:4318", serviceVersion: "1", serviceInstanceID: "w"),
                environment: [:], logger: Self.quiet, spansDropped: { _ in })
        }
    }

    /// An unreachable collector: spans beyond the bounded queue are dropped
    /// and counted; making and ending spans never waits for the collector.
    @Test func anUnreachableCollectorDropsAndCounts() async throws {
        let port = try freeLoopbackPort()  // nothing listens there
        var settings = WorkerTracing.Settings(otlpEndpoint: "http://127.0.0.1:\(port)", serviceVersion: "1", serviceInstanceID: "w")
        settings.maxQueueSize = 8
        settings.scheduleDelay = .milliseconds(100)
        let dropped = NIOLockedValueBox(0)
        let tracing = try WorkerTracing.make(settings, environment: [:], logger: Self.quiet, spansDropped: { count in
            dropped.withLockedValue { $0 += count }
        })
        try await Self.withExporter(tracing) {
            let deadline = ContinuousClock.now + .seconds(20)
            while dropped.withLockedValue({ $0 }) == 0, ContinuousClock.now < deadline {
                for index in 0..<200 {
                    tracing.tracer.startAnySpan("span \(index)", context: .topLevel, ofKind: .internal).end()
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(dropped.withLockedValue { $0 } > 0)
    }
}
