public import Logging
import OTel
public import ServiceLifecycle
public import Tracing

/// The worker's tracer (product §11): always one, so that the trace context
/// flows whether or not spans are exported.
///
/// - Export off (the default): ``PropagatingTracer``, which records nothing.
/// - Export on (`tracing.otlpEndpoint` set, or `OTEL_EXPORTER_OTLP_ENDPOINT` /
///   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` in the environment): swift-otel's
///   tracer, parent-based sampling (`OTEL_TRACES_SAMPLER` may change it), its
///   batch span processor and the OTLP/HTTP (protobuf) exporter, run by
///   ``exporter``. The queue between dispatch and the exporter is bounded
///   (``Settings/maxQueueSize``): when the collector is slow or unreachable,
///   spans are dropped and counted, dispatch never waits.
public struct WorkerTracing: Sendable {
    /// What the worker asks of tracing.
    public struct Settings: Sendable {
        /// The collector's OTLP/HTTP base URL (`tracing.otlpEndpoint`), e.g.
        /// `http://otel-collector:4318`; spans go to `<base>/v1/traces`.
        /// Default `nil`: export is off unless the `OTEL_EXPORTER_OTLP_*`
        /// environment asks for it.
        public var otlpEndpoint: String?
        /// `service.name`; `OTEL_SERVICE_NAME` wins. Default `aicc-notify`.
        public var serviceName: String = "aicc-notify"
        /// `service.version`.
        public var serviceVersion: String
        /// `service.instance.id`: the worker id.
        public var serviceInstanceID: String
        /// Finished spans waiting for export, at most. Default 2048.
        public var maxQueueSize: Int = 2048
        /// How often the batch goes out. Default 1 s.
        public var scheduleDelay: Duration = .seconds(1)
        /// How long one batch's export may take, retries included (the
        /// exporter retries with backoff while the collector is out), and so
        /// about how long a graceful shutdown waits for an unreachable
        /// collector. Default 5 s (OpenTelemetry's 30 s would hold up every
        /// shutdown of a worker whose collector is out); `OTEL_BSP_EXPORT_TIMEOUT`
        /// (milliseconds) wins.
        public var exportTimeout: Duration = .seconds(5)

        public init(otlpEndpoint: String?, serviceVersion: String, serviceInstanceID: String) {
            self.otlpEndpoint = otlpEndpoint
            self.serviceVersion = serviceVersion
            self.serviceInstanceID = serviceInstanceID
        }
    }

    /// The tracer every part of the worker uses.
    public let tracer: any Tracer
    /// The exporter's background work (a `Service` to run beside the worker's
    /// parts: it flushes what is queued on graceful shutdown); `nil` when
    /// export is off.
    public let exporter: (any Service)?

    /// Whether spans are exported.
    public var isExporting: Bool { self.exporter != nil }

    /// Tracing that exports nothing (tests, tools).
    public static let propagatingOnly = WorkerTracing(tracer: PropagatingTracer(), exporter: nil)

    init(tracer: any Tracer, exporter: (any Service)?) {
        self.tracer = tracer
        self.exporter = exporter
    }

    /// Builds tracing from the settings and the process environment.
    ///
    /// - Parameters:
    ///   - spansDropped: told how many finished spans the full export queue dropped.
    /// - Throws: ``TracingError`` when export is asked for and cannot be set up
    ///   (an endpoint that is not an `http(s)` URL).
    public static func make(
        _ settings: Settings, environment: [String: String], logger: Logger,
        spansDropped: @escaping @Sendable (Int) -> Void
    ) throws(TracingError) -> WorkerTracing {
        let fromEnvironment = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
            .contains { !(environment[$0] ?? "").isEmpty }
        guard settings.otlpEndpoint != nil || fromEnvironment else { return .propagatingOnly }
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" || environment["OTEL_TRACES_EXPORTER"]?.lowercased() == "none" {
            logger.info("span export disabled by the OTEL_* environment; trace context still propagates")
            return .propagatingOnly
        }

        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.resourceAttributes = [
            "service.version": settings.serviceVersion,
            "service.instance.id": settings.serviceInstanceID,
        ]
        configuration.diagnosticLogger = .custom(Self.diagnosticLogger(logger, spansDropped: spansDropped))
        configuration.diagnosticLogLevel = .warning
        configuration.propagators = [.traceContext]
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.sampler = .parentBasedAlwaysOn
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.batchSpanProcessor.maxQueueSize = settings.maxQueueSize
        configuration.traces.batchSpanProcessor.scheduleDelay = settings.scheduleDelay
        configuration.traces.batchSpanProcessor.exportTimeout = settings.exportTimeout
        configuration.traces.otlpExporter.timeout = settings.exportTimeout
        if let base = settings.otlpEndpoint {
            guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
                throw TracingError(code: "tracing.endpoint", message: "tracing.otlpEndpoint must be an http(s) URL, e.g. http://otel-collector:4318")
            }
            configuration.traces.otlpExporter.endpoint = Self.tracesURL(base: base)
        }
        // The standard variables win over the settings. swift-otel reads them
        // from the process environment too; applying them from `environment`
        // here makes that the one source (the same dictionary in the worker,
        // an explicit one in tests).
        if let traces = environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], !traces.isEmpty {
            configuration.traces.otlpExporter.endpoint = traces
        } else if let base = environment["OTEL_EXPORTER_OTLP_ENDPOINT"], !base.isEmpty {
            configuration.traces.otlpExporter.endpoint = Self.tracesURL(base: base)
        }
        if let name = environment["OTEL_SERVICE_NAME"], !name.isEmpty {
            configuration.serviceName = name
        }
        do {
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            logger.info("exporting spans over OTLP/HTTP", metadata: [
                "tracing.endpoint": "\(environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] ?? environment["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? settings.otlpEndpoint ?? "")",
            ])
            return WorkerTracing(tracer: backend.factory, exporter: backend.service)
        } catch {
            throw TracingError(code: "tracing.config", message: "span export cannot start: \(error)")
        }
    }

    /// Adds `trace_id`, `span_id` and `trace_flags` of the current span to log
    /// lines, whichever tracer made it. Give it to the log handlers.
    public static let loggingMetadataProvider: Logger.MetadataProvider = {
        let propagating = PropagatingTracer.metadataProvider
        let otel = OTel.makeLoggingMetadataProvider()
        return Logger.MetadataProvider {
            let own = propagating.get()
            return own.isEmpty ? otel.get() : own
        }
    }()

    /// The context whose parent is the trace in `headers`: a new root when
    /// there are none or they do not parse.
    public func context(continuing headers: TraceHeaders?) -> InstrumentationContext {
        var context = InstrumentationContext.topLevel
        if let headers { self.tracer.extract(headers, into: &context, using: TraceHeaders.Extractor()) }
        return context
    }

    /// The `traceparent`/`tracestate` of a span's context.
    public func headers(of context: InstrumentationContext) -> TraceHeaders? {
        var headers = TraceHeaders(traceParent: "")
        self.tracer.inject(context, into: &headers, using: TraceHeaders.Injector())
        return headers.traceParent.isEmpty ? nil : headers
    }

    /// `<base>/v1/traces`, the OTLP/HTTP traces path under a base URL.
    static func tracesURL(base: String) -> String {
        base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces"
    }

    /// swift-otel's own log lines go to the worker's logger, and its
    /// dropped-span reports also to `spansDropped`.
    private static func diagnosticLogger(_ logger: Logger, spansDropped: @escaping @Sendable (Int) -> Void) -> Logger {
        var diagnostic = Logger(label: "aicc-notify.tracing") { _ in
            DroppedSpanCountingHandler(inner: logger.handler, spansDropped: spansDropped)
        }
        diagnostic.logLevel = .warning
        return diagnostic
    }
}

/// An error setting up tracing.
public struct TracingError: Error, Sendable, CustomStringConvertible {
    /// `tracing.endpoint` or `tracing.config`.
    public let code: String
    public let message: String
    public var description: String { "\(self.code): \(self.message)" }
}

/// Passes swift-otel's diagnostic lines on, and reads the count out of its
/// "spans were dropped" warning (metadata `dropped_count`).
///
/// Its own level (warning) decides what it sees, so that drops are counted
/// whatever the worker's `log.level`; a line reaches the worker's log only at
/// or above that handler's level.
struct DroppedSpanCountingHandler: LogHandler {
    var inner: any LogHandler
    let spansDropped: @Sendable (Int) -> Void
    var logLevel: Logger.Level = .warning

    var metadata: Logger.Metadata {
        get { self.inner.metadata }
        set { self.inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { self.inner.metadataProvider }
        set { self.inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.inner[metadataKey: key] }
        set { self.inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        if case .some(let value) = event.metadata?["dropped_count"], let count = Int("\(value)"), count > 0 {
            self.spansDropped(count)
        }
        if event.level >= self.inner.logLevel { self.inner.log(event: event) }
    }
}
