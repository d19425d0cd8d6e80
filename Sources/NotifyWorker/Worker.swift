public import AICC
import Foundation
public import Kafka
public import Logging
import NotifyCore
public import NotifyHTTP
public import NotifyStore
import NotifyRouting
import NotifyStorePostgres
import NotifyStoreSQLite
public import NotifyTracing
import Prometheus
public import ServiceLifecycle

/// A built worker, itself a `Service`: its parts in shutdown order and the
/// AICC client they share. Make one with ``buildWorker(configuration:logger:)``
/// and run it in a `ServiceGroup` (the command line adds SIGTERM/SIGINT).
///
/// ``run()`` runs, in this order, the idempotency store, the Kafka producer and
/// the dispatch service (which runs the consumer) in a `ServiceGroup` of its
/// own that follows the enclosing group's graceful shutdown, and shuts them
/// down in reverse: dispatch first (stop fetching, drain within the bound,
/// commit, leave the group), then the producer (flush what is still going
/// out), then the store (close the file or pool). Then it closes the AICC client.
public struct Worker: Service, Sendable {
    /// The pipeline.
    public let dispatch: DispatchService
    /// The idempotency store.
    public let store: any IdempotencyStore
    /// The producer of results and dead-letter records.
    public let producer: KafkaProducer
    /// The AICC client.
    public let aicc: AICCClient
    /// The HTTP listener: status callbacks, `/healthz`, `/readyz`.
    public let http: HTTPEndpoint
    /// Alert routing, with `routing.file` set.
    public let router: AlertRouterService?
    /// Escalation, with a route that has `escalate` (product §12).
    public let escalations: EscalationService?
    /// The configuration it was built from.
    public let configuration: WorkerConfiguration
    /// The tracer and, when spans are exported, the exporter (product §11).
    public let tracing: WorkerTracing
    let logger: Logger

    /// The parts, in start order. Dispatch starts consuming only once the
    /// HTTP listener is up: a listener that cannot open (`http.listen` in
    /// use, not this host's) fails the worker before any record is touched.
    /// The span exporter starts first and stops last, so that it flushes
    /// the spans of everything else.
    public var services: [any Service] {
        (self.tracing.exporter.map { [$0] } ?? [])
            + [self.store, self.producer, self.http, DispatchAfterListening(http: self.http, dispatch: self.dispatch)]
            + (self.router.map { [$0] } ?? []) + (self.escalations.map { [$0] } ?? [])
    }

    /// Runs until graceful shutdown, then closes the AICC client. Throws what
    /// a part threw.
    public func run() async throws {
        let group = ServiceGroup(configuration: .init(
            services: self.services.map { .init(service: $0) },
            logger: self.logger))
        do {
            try await group.run()
        } catch {
            try? await self.aicc.shutdown()
            throw error
        }
        try await self.aicc.shutdown()
    }
}

/// Builds the worker from its configuration: opens the store (running its
/// migrations), creates the Kafka clients and the AICC client. Nothing runs
/// until ``Worker/run()``.
///
/// - Throws: ``ConfigurationError`` for settings the parts refuse (a `store.url`
///   the build cannot serve, a librdkafka property librdkafka rejects), or the
///   part's own error (`StoreError`, `KafkaError`) when it cannot start.
public func buildWorker(configuration: WorkerConfiguration, logger: Logger) async throws -> Worker {
    let owner = StoreOwner(worker: configuration.worker.id, incarnation: UUID().uuidString.lowercased())
    // Alert routing (product §9): the rules first, so that a file that does not load stops the start.
    var rules: RoutingRules?
    if let file = configuration.routing.file {
        do {
            rules = try RoutingRules.load(path: file)
        } catch {
            throw ConfigurationError.invalid("routing.file", "\(file): \(error)")
        }
        // Escalation (product §12) learns whether a call was answered from its status report.
        if !configuration.callback.isEnabled, let route = rules?.routes.first(where: { $0.escalation != nil }) {
            throw ConfigurationError.invalid(
                "routing.file", "\(file): route '\(route.name)': escalate needs status callbacks (set callback.publicBaseURL)")
        }
    }

    let store: any IdempotencyStore
    let storeURL: StoreURL
    do {
        storeURL = try StoreURL.parse(configuration.store.url)
    } catch {
        throw ConfigurationError.invalid("store.url", error.message)
    }
    switch storeURL {
    case .sqlite(let path, let synchronous):
        store = try await SQLiteIdempotencyStore(
            configuration: .init(path: path, retention: .seconds(configuration.store.retention), synchronous: synchronous),
            logger: logger)
    case .postgres(let url):
        let postgres: PostgresIdempotencyStore.Configuration
        do {
            postgres = try PostgresIdempotencyStore.Configuration(url: url, retention: .seconds(configuration.store.retention))
        } catch {
            throw ConfigurationError.invalid("store.url", error.message)
        }
        store = try await PostgresIdempotencyStore(configuration: postgres, logger: logger)
    }

    // The pass-through properties serve both clients; the consumers leave
    // out the producer-only ones and the producer the consumer-only ones
    // (librdkafka would warn about each at every start).
    let client = KafkaClientConfiguration(
        bootstrapServers: configuration.kafka.bootstrapServers, clientID: "aicc-notify",
        properties: configuration.kafka.properties.filter { !producerOnlyKafkaProperties.contains($0.key) })
    let offsetReset: KafkaConsumerConfiguration.OffsetReset
    switch configuration.kafka.autoOffsetReset {
    case .earliest: offsetReset = .earliest
    case .latest: offsetReset = .latest
    }
    let drainTimeout: Duration = .seconds(configuration.dispatch.drainTimeout)
    // The consumer holds a revocation until dispatch acknowledges it, which
    // takes at most the drain bound plus a final commit.
    let revocationTimeout: Duration = drainTimeout + .seconds(10)
    let consumerConfiguration = KafkaConsumerConfiguration(
        groupID: configuration.kafka.groupID, topics: [configuration.kafka.topics.requests], client: client,
        autoOffsetReset: offsetReset, revocationTimeout: revocationTimeout)
    // Sends that cannot be delivered fail within kafka.deliveryTimeout: results are sent
    // again (the dispatch loop retries), a status report is answered 503 so that AICC retries.
    let deliveryTimeout: Duration = .seconds(configuration.kafka.deliveryTimeout)
    var producerClient = client
    producerClient.properties = configuration.kafka.properties.filter { !consumerOnlyKafkaProperties.contains($0.key) }
    // The topics every start produces to (results; call-status events with
    // callbacks; requests with routing), asked for before the first record:
    // librdkafka would otherwise hold the first records to each ~1 s.
    var topicsToPrepare = [configuration.kafka.topics.results]
    if configuration.callback.isEnabled { topicsToPrepare.append(configuration.kafka.topics.callbacks) }
    if configuration.routing.file != nil { topicsToPrepare.append(configuration.kafka.topics.requests) }
    let producerConfiguration = KafkaProducerConfiguration(
        client: producerClient, deliveryTimeout: deliveryTimeout, linger: Worker.producerLinger, topicsToPrepare: topicsToPrepare)
    let consumer: KafkaConsumer
    let producer: KafkaProducer
    // With routing, a second member of the group reads the alerts topic.
    var alertsConsumer: KafkaConsumer?
    do {
        producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        if rules != nil {
            alertsConsumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
                groupID: configuration.kafka.groupID, topics: [configuration.kafka.topics.alerts], client: client,
                autoOffsetReset: offsetReset, revocationTimeout: revocationTimeout), logger: logger)
        }
    } catch {
        await store.close()
        if error.code == "kafka.config.invalid" {
            throw ConfigurationError.invalid("kafka.properties", error.message)
        }
        throw error
    }

    var aiccConfiguration = AICCClient.Configuration(
        baseURL: configuration.aicc.baseURL, appKey: configuration.aicc.appKey, appSecret: configuration.aicc.appSecret)
    let tokenLifetime: Duration = .seconds(configuration.aicc.tokenLifetime)
    let callTimeout: Duration = .seconds(configuration.aicc.timeout)
    aiccConfiguration.tokenLifetime = tokenLifetime
    aiccConfiguration.timeout = callTimeout
    aiccConfiguration.maxConcurrency = configuration.aicc.maxConcurrency
    aiccConfiguration.callsPerSecond = configuration.aicc.callsPerSecond
    // Metrics go to this worker's own registry, served at /metrics (no global bootstrap).
    let registry = PrometheusCollectorRegistry()
    let metrics = WorkerMetrics(factory: PrometheusMetricsFactory(registry: registry))
    let tracing: WorkerTracing
    do {
        tracing = try WorkerTracing.make(
            WorkerTracing.Settings(
                otlpEndpoint: configuration.tracing.otlpEndpoint, serviceVersion: BuildInfo.version,
                serviceInstanceID: configuration.worker.id),
            environment: ProcessInfo.processInfo.environment, logger: logger,
            spansDropped: { metrics.tracesDropped($0) })
    } catch {
        await store.close()
        throw ConfigurationError.invalid("tracing.otlpEndpoint", error.message)
    }
    let aicc = try AICCClient(
        configuration: aiccConfiguration, backgroundLogger: logger,
        onTokenFetch: { (succeeded: Bool) -> Void in metrics.tokenFetched(succeeded: succeeded) },
        tracer: tracing.tracer)

    let retry = RetryPolicy(
        initialBackoff: configuration.retry.initialBackoff, maxBackoff: configuration.retry.maxBackoff,
        maxAttempts: configuration.retry.maxAttempts)
    let inDoubtPolicy: InDoubtPolicy
    switch configuration.dispatch.inDoubtPolicy {
    case .report: inDoubtPolicy = .report
    case .retry: inDoubtPolicy = .retry
    }
    let machine = DispatchMachine.Configuration(
        retry: retry, maxConcurrency: configuration.aicc.maxConcurrency,
        flowControl: FlowControl(maxInFlight: configuration.dispatch.maxInFlight), inDoubtPolicy: inDoubtPolicy)
    let claimLease: Duration = .seconds(configuration.dispatch.claimLease)
    var signer: CallbackURLSigner?
    var callbackURL: (@Sendable (NotificationRequest) -> String?)?
    if let base = configuration.callback.publicBaseURL, let secret = configuration.callback.secret {
        let urls = CallbackURLSigner(publicBaseURL: base, secret: secret)
        signer = urls
        callbackURL = { (request: NotificationRequest) -> String? in
            guard request.statusCallback else { return nil }
            return urls.url(for: CallbackIdentity(idempotencyKey: request.idempotencyKey, requestId: request.requestId))
        }
    }
    let storm = StormBudget(
        window: .milliseconds(Int64(configuration.dispatch.storm.window * 1000)), burst: configuration.dispatch.storm.burst,
        bypassPriority: configuration.dispatch.storm.bypassPriority)
    let dispatchConfiguration = DispatchService.Configuration(
        resultsTopic: configuration.kafka.topics.results, deadLetterTopic: configuration.kafka.topics.deadLetter,
        owner: owner, machine: machine, claimLease: claimLease, drainTimeout: drainTimeout, callbackURL: callbackURL,
        storm: storm, groupID: configuration.kafka.groupID,
        decoder: RequestDecoder.Configuration(acceptedCloudEventTypes: configuration.kafka.cloudEventTypes))
    // Escalation (product §12): with a route that escalates, in the store beside the keys.
    let routing = rules.map { Router(rules: $0, keySecret: configuration.routing.keySecret) }
    var escalations: EscalationService?
    if let routing, routing.rules.routes.contains(where: { $0.escalation != nil }) {
        escalations = EscalationService(
            configuration: .init(
                requestsTopic: configuration.kafka.topics.requests, escalationsTopic: configuration.kafka.topics.escalations),
            router: routing, store: store, producer: producer, metrics: metrics, logger: logger)
    }
    let dispatch = DispatchService(
        configuration: dispatchConfiguration, consumer: consumer, producer: producer, store: store, aicc: aicc,
        metrics: metrics, tracing: tracing, escalations: escalations, logger: logger)

    let publisher = CallStatusPublisher(
        store: store, producer: producer, topic: configuration.kafka.topics.callbacks, metrics: metrics, tracing: tracing,
        escalations: escalations, logger: logger)
    let authenticator = configuration.callback.sharedKey.map { ReportAuthenticator(sharedKey: $0) }
    let readiness: @Sendable () async -> Readiness = {
        var problems: [String] = []
        if !dispatch.hasAssignment {
            if !dispatch.isGroupMember {
                problems.append("no partitions assigned yet (not in the consumer group)")
            } else {
                // An idle member (more members than partitions) is ready, if
                // the input topic really is there to take over.
                let topic = configuration.kafka.topics.requests
                let partitions = (try? await consumer.watermarks(topic: topic, timeout: .seconds(2)))?.count ?? 0
                if partitions == 0 { problems.append("no partitions assigned: input topic \(topic) not found") }
            }
        }
        if dispatch.isOutage { problems.append("AICC is out or refused the credentials (partitions paused)") }
        do throws(StoreError) {
            _ = try await store.lookup(key: "aicc-notify.readyz")
        } catch {
            problems.append("idempotency store unavailable (\(error.code))")
        }
        return Readiness(problems: problems)
    }
    var router: AlertRouterService?
    if let routing, let alertsConsumer {
        router = AlertRouterService(
            configuration: .init(
                requestsTopic: configuration.kafka.topics.requests, deadLetterTopic: configuration.kafka.topics.deadLetter,
                workerID: configuration.worker.id),
            router: routing, consumer: alertsConsumer, producer: producer, escalations: escalations, metrics: metrics,
            logger: logger)
    }
    let http = HTTPEndpoint(
        configuration: .init(host: configuration.http.host, port: configuration.http.port), signer: signer,
        authenticator: authenticator, handler: publisher, readiness: readiness,
        metrics: { MetricsExposition.render(registry.emitToString()) }, logger: logger)
    return Worker(
        dispatch: dispatch, store: store, producer: producer, aicc: aicc, http: http, router: router,
        escalations: escalations, configuration: configuration, tracing: tracing, logger: logger)
}

/// Runs dispatch once the HTTP listener is up; ends quietly when shutdown
/// comes first (nothing was consumed), and throws the listener's
/// ``HTTPEndpointError`` when it cannot open.
struct DispatchAfterListening: Service, CustomStringConvertible {
    let http: HTTPEndpoint
    let dispatch: DispatchService

    func run() async throws {
        do {
            _ = try await cancelWhenGracefulShutdown { try await self.http.waitUntilListening() }
        } catch is CancellationError {
            return
        }
        try await self.dispatch.run()
    }

    var description: String { "DispatchService" }
}

extension Worker {
    /// The producer's `linger.ms`: 25 ms rather than librdkafka's 5
    /// (`linger.ms` in `kafka.properties` overrides it).
    ///
    /// Debian's librdkafka 2.0.2 lets an idempotent producer have at most 5
    /// *messages* of a partition in flight (its limit is meant for requests),
    /// and while they are, a batch whose linger has run out makes the broker
    /// thread poll with a zero timeout until the broker answers: a busy loop
    /// for one round trip. A linger longer than that round trip lets the
    /// thread sleep instead (BENCHMARKS.md, "The producer's linger"). Results
    /// and call-status events leave up to 20 ms later; calls are not delayed.
    static let producerLinger: Duration = .milliseconds(25)
}

extension Worker: CustomStringConvertible {
    /// `Worker(id: …)`: what swift-service-lifecycle logs when it starts and
    /// stops the worker. The synthesized description would print the whole
    /// configuration, secrets included.
    public var description: String {
        "Worker(id: \(self.configuration.worker.id))"
    }
}

/// librdkafka properties that only a producer reads (marked `P` in its
/// CONFIGURATION.md, 2.0.2): `kafka.properties` passes them to the producer only.
let producerOnlyKafkaProperties: Set<String> = [
    "transactional.id", "transaction.timeout.ms", "enable.idempotence", "enable.gapless.guarantee",
    "queue.buffering.max.messages", "queue.buffering.max.kbytes", "queue.buffering.max.ms", "linger.ms",
    "message.send.max.retries", "retries", "retry.backoff.ms", "queue.buffering.backpressure.threshold",
    "compression.codec", "compression.type", "compression.level", "batch.num.messages", "batch.size",
    "delivery.report.only.error", "sticky.partitioning.linger.ms", "request.required.acks", "acks",
    "request.timeout.ms", "message.timeout.ms", "delivery.timeout.ms", "queuing.strategy", "produce.offset.report",
    "partitioner",
]

/// librdkafka properties that only a consumer reads (marked `C` in its
/// CONFIGURATION.md): `kafka.properties` passes them to the consumer only.
let consumerOnlyKafkaProperties: Set<String> = [
    "group.id", "group.instance.id", "partition.assignment.strategy", "session.timeout.ms",
    "heartbeat.interval.ms", "group.protocol.type", "coordinator.query.interval.ms", "max.poll.interval.ms",
    "enable.auto.commit", "auto.commit.interval.ms", "enable.auto.offset.store", "queued.min.messages",
    "queued.max.messages.kbytes", "fetch.wait.max.ms", "fetch.message.max.bytes", "max.partition.fetch.bytes",
    "fetch.max.bytes", "fetch.min.bytes", "fetch.error.backoff.ms", "offset.store.method", "isolation.level",
    "consume.callback.max.messages", "enable.partition.eof", "check.crcs", "auto.offset.reset",
]
