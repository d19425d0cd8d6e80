import Foundation
public import Kafka
import NIOConcurrencyHelpers
public import Logging
import NotifyCore
public import NotifyRouting
public import NotifyStore
import NotifyTracing
public import ServiceLifecycle

/// Escalation in the worker (product §12): keeps each routed alert's
/// escalation in the store, applies the rule (``EscalationState``) to every
/// input — the alert again, the results and status reports of its requests,
/// the clock — and carries out what the rule decides: the next step's
/// notification-requests on the requests topic, an escalation event on
/// `kafka.topics.escalations`. A `Service`: `run()` sweeps the store for
/// passed deadlines (and decisions a crash interrupted) until graceful
/// shutdown.
///
/// Fleet-safe and crash-safe by construction:
/// - every decision is a compare-and-set on the stored version: of two
///   workers applying inputs to one escalation, one decides, the other reads
///   the decided state again (where the input usually changes nothing);
/// - a decision is stored with `emissionPending` set before its records are
///   produced, and cleared after; a crash in between leaves it for the next
///   sweep (of any worker) to produce again. Requests have deterministic
///   keys, so a second production rings nobody twice; an escalation event
///   may be seen twice (the schema says so);
/// - deadlines live in the store: one that passed while every worker was
///   down is found by the first sweep after a start.
///
/// Inputs that arrive while the store is out: an alert record is retried
/// until it is stored (its offset is not committed before); a status report
/// is answered `unavailable` (AICC retries it); a result is only logged: the
/// step's deadline decides for it.
public final class EscalationService: Service, Sendable, CustomStringConvertible {
    /// Topics and timing.
    public struct Configuration: Sendable {
        /// `kafka.topics.requests`: where a step's requests go.
        public var requestsTopic: String
        /// `kafka.topics.escalations`: where escalation events go.
        public var escalationsTopic: String
        /// How often the store is swept for passed deadlines. Default 1 s:
        /// a step escalates at most about a second after its `wait`.
        public var sweepInterval: Duration

        /// How long a decision may stay pending, unchanged, before a sweep
        /// produces its records in place of its decider (which died, or
        /// lost Kafka). Default 5 s.
        public var emissionGrace: Duration

        public init(
            requestsTopic: String, escalationsTopic: String, sweepInterval: Duration = .seconds(1), emissionGrace: Duration = .seconds(5)
        ) {
            self.requestsTopic = requestsTopic
            self.escalationsTopic = escalationsTopic
            self.sweepInterval = sweepInterval
            self.emissionGrace = emissionGrace
        }
    }

    /// What the store keeps for one escalation: the rule's state and what
    /// rendering a later step needs (the alert's labels and annotations, its
    /// trace context). Never a number.
    struct Body: Codable, Sendable {
        var state: EscalationState
        var labels: [String: String]
        var annotations: [String: String]
        var traceParent: String?
        var traceState: String?
        /// Decisions whose records may not all be in Kafka yet, in order.
        var outbox: [Emission] = []
    }

    /// One decision's records: the escalation event (as decided, with its
    /// time) and, for `escalated`, the step whose requests go out (made by
    /// the router again: deterministic, with `at` as the record time their
    /// ttl counts from).
    struct Emission: Codable, Sendable, Equatable {
        var step: Int?
        var at: Date
        var event: [UInt8]
    }

    let configuration: Configuration
    let router: Router
    let store: any EscalationStore
    let producer: KafkaProducer
    let metrics: WorkerMetrics
    let logger: Logger
    /// The escalations this process is producing the records of.
    private let emitting = NIOLockedValueBox(Set<String>())
    /// Pending emissions the last sweep saw, with their version and since when.
    private let pendingSeen = NIOLockedValueBox([String: (version: Int64, since: ContinuousClock.Instant)]())

    public init(
        configuration: Configuration, router: Router, store: any EscalationStore, producer: KafkaProducer,
        metrics: WorkerMetrics, logger: Logger
    ) {
        self.configuration = configuration
        self.router = router
        self.store = store
        self.producer = producer
        self.metrics = metrics
        self.logger = logger
    }

    public var description: String { "EscalationService" }

    /// Sweeps until graceful shutdown.
    public func run() async throws {
        let escalating = self.router.rules.routes.filter { $0.escalation != nil }.map(\.name)
        self.logger.info("escalation starting", metadata: ["routing.escalatingRoutes": "\(escalating.joined(separator: ","))"])
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await self.sweep(now: Date())
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.configuration.sweepInterval) }
            } catch {
                break
            }
        }
        self.logger.info("escalation stopped")
    }

    /// One sweep: every escalation whose deadline passed gets a tick; every
    /// decision not yet carried out is carried out.
    func sweep(now: Date) async {
        do throws(StoreError) {
            let due = try await self.store.dueEscalations(now: now, limit: 256)
            var stillPending: [String: (version: Int64, since: ContinuousClock.Instant)] = [:]
            let seenPending = self.pendingSeen.withLockedValue { $0 }
            for escalation in due {
                guard !Task.isCancelled else { return }
                if !escalation.isEnded && escalation.deadline <= now,
                   try await self.apply(.tick, to: escalation.id, now: now) == true
                {
                    await self.emit(escalation.id, now: now)
                } else if escalation.emissionPending {
                    // A decision whose records are not all out: its decider is
                    // producing them now, or died doing it. The same version
                    // still pending a grace period later means the latter.
                    let seen = seenPending[escalation.id]
                    if let seen, seen.version == escalation.version, ContinuousClock.now - seen.since >= self.configuration.emissionGrace {
                        await self.emit(escalation.id, now: now)
                    } else if let seen, seen.version == escalation.version {
                        stillPending[escalation.id] = seen
                    } else {
                        stillPending[escalation.id] = (escalation.version, ContinuousClock.now)
                    }
                }
            }
            self.pendingSeen.withLockedValue { $0 = stillPending }
            self.metrics.escalationsPending(try await self.store.activeEscalationCount())
        } catch {
            self.logger.warning("escalation sweep: store unavailable", metadata: [LogKey.errorCode: "\(error.code)"])
        }
    }

    // MARK: Inputs

    /// An alert record was routed (firing: its step-0 requests are in Kafka)
    /// or resolved: ends the escalations of its routes that it ends (a
    /// `resolved` record, a new firing) and starts one for each escalating
    /// route of a firing. Throws when the store is out: the caller keeps
    /// the alert record and tries again.
    func alertSeen(
        _ alert: Alert, requests: [RoutedRequest], trace: TraceHeaders?, now: Date
    ) async throws(StoreError) {
        for route in self.router.matchingRoutes(alert) {
            guard let policy = route.escalation else { continue }
            let subject = Self.subject(alert: alert, route: route.name)
            let id = self.router.escalationID(for: alert, route: route.name)
            // A `resolved` record ends the firing's escalation; a firing ends
            // the escalations of earlier firings (its own is a repeat).
            for active in try await self.store.activeEscalations(subject: subject) where alert.status != "firing" || active.id != id {
                if try await self.apply(.alert(status: alert.status, startsAt: alert.startsAt), to: active.id, now: now) {
                    await self.emit(active.id, now: now)
                }
            }
            guard alert.status == "firing" else { continue }
            let state = EscalationState(
                id: id, route: route.name,
                alert: .init(name: alert.labels["alertname"] ?? "", fingerprint: alert.identity, startsAt: alert.startsAt),
                requestIds: requests.filter { $0.route == route.name && $0.step == 0 }.map(\.idempotencyKey),
                now: now, wait: policy.wait)
            let body = Body(
                state: state, labels: alert.labels, annotations: alert.annotations, traceParent: trace?.traceParent,
                traceState: trace?.traceState)
            let stored = StoredEscalation(
                id: id, subject: subject, deadline: state.deadline, isEnded: false, emissionPending: false,
                body: try Self.encode(body))
            if try await self.store.createEscalation(stored, now: now) {
                self.logger.info("escalation started", metadata: [
                    LogKey.escalationID: "\(id)", "routing.route": "\(route.name)",
                    "escalation.wait": "\(Int(policy.wait))", "escalation.steps": "\(route.lastStep)",
                ])
            }
        }
    }

    /// A result of a request of an escalation was published. Best effort:
    /// when the store is out the step's deadline decides instead.
    func resultPublished(_ result: NotificationResult) async {
        guard let id = result.attributes["escalation.id"] else { return }
        do throws(StoreError) {
            if try await self.apply(.result(requestId: result.requestId, outcome: result.outcome), to: id, now: Date()) {
                await self.emit(id, now: Date())
            }
        } catch {
            self.logger.warning("escalation: a result not applied (the deadline decides)", metadata: [
                LogKey.escalationID: "\(id)", LogKey.requestID: "\(result.requestId)", LogKey.errorCode: "\(error.code)",
            ])
        }
    }

    /// A status report of a request of an escalation was published. Returns
    /// false when it could not be applied (the store is out): the report is
    /// then answered `unavailable`, and AICC sends it again.
    func reportPublished(_ event: CallStatusEvent) async -> Bool {
        guard let id = event.attributes["escalation.id"] else { return true }
        let input = EscalationState.Input.report(
            requestId: event.requestId, releaseReason: event.releaseReason.flatMap { Int($0) }, callSerialNo: event.callSerialNo)
        do throws(StoreError) {
            if try await self.apply(input, to: id, now: Date()) {
                await self.emit(id, now: Date())
            }
            return true
        } catch {
            self.logger.warning("escalation: a status report not applied; AICC will retry", metadata: [
                LogKey.escalationID: "\(id)", LogKey.requestID: "\(event.requestId)", LogKey.errorCode: "\(error.code)",
            ])
            return false
        }
    }

    // MARK: The rule, under compare-and-set

    /// Applies `input` to escalation `id` under compare-and-set, reading again
    /// when another writer was first. Returns whether this call decided
    /// something (escalated or ended it): then the caller produces the
    /// decision's records. A decision another worker made is that worker's
    /// to produce (or, if it died, a sweep's after the grace period).
    func apply(_ input: EscalationState.Input, to id: String, now: Date) async throws(StoreError) -> Bool {
        for _ in 0..<16 {
            guard var stored = try await self.store.escalation(id: id) else { return false }
            var body = try Self.decode(stored.body, id: id)
            let transition: EscalationState.Transition
            if let route = self.router.rules.routes.first(where: { $0.name == body.state.route }), let policy = route.escalation {
                let alert = Self.alert(body)
                transition = body.state.apply(input, at: now, policy: policy) { step in
                    self.router.requests(for: alert, route: route, step: step, recordTime: now).map(\.idempotencyKey)
                }
            } else {
                // The rules no longer escalate this route: nobody more is called.
                transition = body.state.endWithoutRoute()
            }
            if transition == .unchanged { return false }
            switch transition {
            case .escalated(let step):
                let recipients = self.router.rules.routes.first { $0.name == body.state.route }
                    .map { self.router.requests(for: Self.alert(body), route: $0, step: step, recordTime: now).map(\.called) }
                body.outbox.append(Emission(
                    step: step, at: now, event: EscalationEvent(after: body.state, recipients: recipients, at: now).jsonBytes))
            case .ended:
                body.outbox.append(Emission(step: nil, at: now, event: EscalationEvent(after: body.state, at: now).jsonBytes))
            case .unchanged, .updated:
                break
            }
            let version = stored.version
            stored.body = try Self.encode(body)
            stored.deadline = body.state.deadline
            stored.isEnded = body.state.phase.isEnded
            switch transition {
            case .escalated, .ended: stored.emissionPending = true
            case .unchanged, .updated: break
            }
            if try await self.store.updateEscalation(stored, expectedVersion: version, now: now) {
                switch transition {
                case .escalated(let step):
                    self.metrics.escalation("escalated")
                    self.logger.notice("escalation: step unanswered, next step", metadata: [
                        LogKey.escalationID: "\(id)", "escalation.step": "\(step)", "routing.route": "\(body.state.route)",
                    ])
                case .ended(let phase):
                    self.metrics.escalation(phase.rawValue)
                    self.logger.info("escalation ended", metadata: [
                        LogKey.escalationID: "\(id)", "escalation.state": "\(phase.rawValue)", "escalation.step": "\(body.state.step)",
                        "escalation.reason": "\(body.state.reason ?? "")",
                    ])
                case .unchanged, .updated: return false
                }
                return true
            }
            // Another writer was first: read what it decided and apply again.
        }
        throw .unavailable("escalation \(id): too much contention")
    }

    /// Carries out the stored decisions of escalation `id` not yet carried
    /// out (its outbox), in order: each escalated step's requests, then each
    /// decision's event; then takes them out of the outbox. One emitter per
    /// escalation in this process at a time.
    func emit(_ id: String, now: Date) async {
        guard self.emitting.withLockedValue({ $0.insert(id).inserted }) else { return }
        defer { self.emitting.withLockedValue { _ = $0.remove(id) } }
        for _ in 0..<8 {
            guard let stored = try? await self.store.escalation(id: id), stored.emissionPending,
                  let body = try? Self.decode(stored.body, id: id)
            else { return }
            let emitted = body.outbox
            for emission in emitted {
                guard await self.produce(emission, of: body) else { return }
            }
            // Take what was produced out of the outbox (a decision made meanwhile stays).
            while true {
                guard let current = try? await self.store.escalation(id: id), var currentBody = try? Self.decode(current.body, id: id)
                else { return }
                guard currentBody.outbox.starts(with: emitted) else { return }
                currentBody.outbox.removeFirst(emitted.count)
                var done = current
                done.emissionPending = !currentBody.outbox.isEmpty
                do throws(StoreError) {
                    done.body = try Self.encode(currentBody)
                    if try await self.store.updateEscalation(done, expectedVersion: current.version, now: now) { break }
                } catch {
                    // Produced again by a later sweep: idempotent requests, an event seen twice.
                    self.logger.warning("escalation: emission not marked done", metadata: [
                        LogKey.escalationID: "\(id)", LogKey.errorCode: "\(error.code)",
                    ])
                    return
                }
            }
        }
    }

    /// Produces one decision's records (the step's requests first, so that a
    /// consumer that sees `escalated` finds them); false when shutting down.
    private func produce(_ emission: Emission, of body: Body) async -> Bool {
        let trace = body.traceParent.map { TraceHeaders(traceParent: $0, traceState: body.traceState) }?
            .kafkaHeaders.map { KafkaHeader(key: $0.key, value: $0.value) } ?? []
        var messages: [KafkaProducerMessage] = []
        if let step = emission.step, let route = self.router.rules.routes.first(where: { $0.name == body.state.route }) {
            messages += self.router.requests(for: Self.alert(body), route: route, step: step, recordTime: emission.at).map {
                KafkaProducerMessage(topic: self.configuration.requestsTopic, key: $0.idempotencyKey, value: $0.json, headers: trace)
            }
        }
        messages.append(KafkaProducerMessage(
            topic: self.configuration.escalationsTopic, key: body.state.id, value: emission.event, headers: trace))
        for message in messages {
            guard await self.producer.sendRetrying(message, what: "escalation record", logger: self.logger) else { return false }
        }
        return true
    }

    // MARK: Pieces

    /// The escalations of one alert on one route: its identity and the route.
    static func subject(alert: Alert, route: String) -> String {
        "\(alert.identity.utf8.count):\(alert.identity)\n\(route)"
    }

    /// The alert as the router renders it (identity kept as the fingerprint).
    static func alert(_ body: Body) -> Alert {
        Alert(
            status: "firing", labels: body.labels, annotations: body.annotations, startsAt: body.state.alert.startsAt,
            fingerprint: body.state.alert.fingerprint)
    }

    static func encode(_ body: Body) throws(StoreError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(body))
        } catch {
            throw .internal("escalation \(body.state.id): cannot encode its state")
        }
    }

    static func decode(_ bytes: [UInt8], id: String) throws(StoreError) -> Body {
        do {
            return try JSONDecoder().decode(Body.self, from: Data(bytes))
        } catch {
            throw .corrupt("escalation \(id): its stored state does not decode")
        }
    }
}
