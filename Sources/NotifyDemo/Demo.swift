import AICCSimulator
import Foundation
import Kafka
import NotifyRouting
public import Logging
import NIOConcurrencyHelpers
import NotifyCore
import NotifyWorker
import ServiceLifecycle

/// `aicc-notify demo`: the whole product in one process, with nothing to set
/// up — librdkafka's mock cluster (real Kafka protocol on loopback), the AICC
/// simulator (real HTTP on loopback) and a SQLite store in a temp directory.
///
/// It produces a mix of requests (valid ones, duplicates, invalid ones, an
/// expired one, a record that is not a request at all, a small storm to one
/// phone that the per-number budget suppresses), runs the real worker
/// until every record has its result or dead-letter record, then prints one
/// row per request and a summary that it checks against what the simulator
/// recorded.
public struct Demo: Sendable {
    /// What to run.
    public struct Options: Sendable {
        /// Valid, distinct requests to send (default 12); the mix adds
        /// duplicates, invalid ones, an expired one and a garbage record.
        public var count: Int = 12
        /// Rate (0…1) of AICC answers that are transient faults (retCode 1),
        /// so that some requests are retried. Default 0.15.
        public var transientFaultRate: Double = 0.15
        /// Fault and latency seed, so that a run is repeatable. Default 7.
        public var seed: UInt64 = 7
        /// Give up waiting after this long. Default 60 s.
        public var timeout: Duration = .seconds(60)

        public init() {}
    }

    /// One printed row.
    public struct Row: Sendable, Equatable {
        public var requestId: String
        public var called: String
        public var outcome: String
        public var callSerialNo: String
        public var callStatus: String
        public var attempts: String
        public var note: String
    }

    /// What a run showed.
    public struct Report: Sendable {
        public var rows: [Row]
        public var outcomes: [String: Int]
        /// Source records dead-lettered, each counted once however many
        /// copies of its dead letter arrived.
        public var deadLettered: Int
        /// Dead-letter copies beyond the first of their source record: a
        /// dead letter produced again after a rebalance (Kafka's at-least-once).
        public var deadLetterResends: Int = 0
        /// Call-status events published (one per accepted call).
        public var callStatuses: Int
        /// The escalation events, `state (step n)`, in order.
        public var escalations: [String] = []
        public var simulatorCalls: Int
        public var simulatorAccepted: Int
        /// The accepted results' serial numbers are exactly the simulator's accepted calls.
        public var matchesSimulator: Bool
        public var elapsed: Duration
    }

    public let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    struct Planned: Sendable {
        var requestId: String?
        var key: String
        var value: [UInt8]
        var called: String?
        var note: String
    }

    /// Runs the demo; `progress` receives one line now and then.
    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> Report {
        let started = ContinuousClock.now
        let cluster = try KafkaMockCluster(brokers: 1, logger: self.logger)
        defer { cluster.shutdown() }
        let topics = (requests: "notification.requests", results: "notification.results", deadLetter: "notification.requests.dlq")
        try cluster.createTopic(topics.requests, partitions: 3)
        try cluster.createTopic(topics.results, partitions: 3)
        try cluster.createTopic(topics.deadLetter, partitions: 1)
        try cluster.createTopic("notification.callbacks", partitions: 3)
        try cluster.createTopic("alerts", partitions: 1)
        try cluster.createTopic("notification.escalations", partitions: 1)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aicc-notify-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var simulatorConfiguration = AICCSimulator.Configuration()
        simulatorConfiguration.latency = .milliseconds(20)
        simulatorConfiguration.jitter = .milliseconds(30)
        simulatorConfiguration.faults = .init(retCode1: self.options.transientFaultRate)
        simulatorConfiguration.seed = self.options.seed
        simulatorConfiguration.callback.releaseReason = .cycle([1, 0, 4, 1, 6])
        // The escalation chain: the primary lets it ring out, the secondary answers.
        simulatorConfiguration.callback.releaseReasonByNumber = [Self.escalationPrimary: 4, Self.escalationSecondary: 0]
        let plan = Self.plan(count: self.options.count)
        // Alert routing: the rules, and the requests they make of the demo's alerts.
        let rulesPath = directory.appendingPathComponent("routing.yaml").path
        try Self.routingRules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let router = Router(rules: try RoutingRules.load(path: rulesPath))
        let alertPlan = Self.alertPlan(router: router)

        return try await AICCSimulator.withRunning(configuration: simulatorConfiguration, logger: self.logger) { simulator in
            var configuration = WorkerConfiguration(aicc: .init(
                baseURL: try await simulator.baseURL(), appKey: simulatorConfiguration.appKey,
                appSecret: simulatorConfiguration.appSecret))
            configuration.worker.id = "demo"
            configuration.kafka.bootstrapServers = cluster.bootstrapServers
            configuration.kafka.groupID = "aicc-notify-demo"
            configuration.kafka.properties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
            configuration.store.url = "sqlite:" + directory.appendingPathComponent("store.db").path
            configuration.retry.initialBackoff = 0.2
            configuration.retry.maxBackoff = 1
            configuration.dispatch.drainTimeout = 5
            configuration.dispatch.storm.window = Double(Demo.stormBudget.window.components.seconds)
            configuration.dispatch.storm.burst = Demo.stormBudget.burst
            configuration.dispatch.storm.bypassPriority = Demo.stormBudget.bypassPriority
            let port = try Self.freeLoopbackPort()
            configuration.http.host = "127.0.0.1"
            configuration.http.port = port
            configuration.callback.publicBaseURL = "http://127.0.0.1:\(port)"
            configuration.callback.secret = "demo-callback-secret-" + UUID().uuidString
            configuration.routing.file = rulesPath

            progress("mock Kafka at \(cluster.bootstrapServers), AICC simulator at \(configuration.aicc.baseURL), store in \(directory.path)")
            try await self.produce(plan, to: topics.requests, servers: cluster.bootstrapServers)
            progress("produced \(plan.count) records to \(topics.requests)")
            try await self.produce(alertPlan.records, to: "alerts", servers: cluster.bootstrapServers)
            progress("produced \(alertPlan.records.count) alert records to alerts")

            let worker = try await buildWorker(configuration: configuration, logger: self.logger)
            let group = ServiceGroup(configuration: .init(services: [worker], logger: self.logger))
            let collected = try await withThrowingTaskGroup(of: Collected?.self) { tasks in
                tasks.addTask {
                    try await group.run()
                    return nil
                }
                tasks.addTask {
                    let expectedResults = Set(plan.compactMap(\.requestId)).count + alertPlan.requests.count
                        + alertPlan.escalatedRequests.count
                    let expectedDead = plan.filter { $0.requestId == nil }.count
                    return try await self.collect(
                        results: topics.results, deadLetter: topics.deadLetter, callbacks: "notification.callbacks",
                        escalations: "notification.escalations", expectedEscalationEvents: 2,
                        servers: cluster.bootstrapServers,
                        expectedResults: expectedResults, expectedDeadLetters: expectedDead, progress: progress)
                }
                var collected: Collected?
                for try await value in tasks {
                    if let value {
                        collected = value
                        await group.triggerGracefulShutdown()
                    }
                }
                return collected
            }
            guard let collected else { throw DemoError("the worker stopped before every record was processed") }
            return self.report(plan: plan, alerts: alertPlan, collected: collected, simulator: simulator, elapsed: ContinuousClock.now - started)
        }
    }

    // MARK: The mix

    /// The demo's routing rules: db alerts call the db on-call roster.
    static let routingRules = """
        version: 1
        defaults:
          priority: 4
          ttl: 15m
          voice:
            - text: "Alert {{labels.alertname}} on {{labels.instance}}: {{annotations.summary}}"
        rosters:
          db-oncall: ["+8613600000001", "+8613600000002"]
          db-secondary: ["\(escalationSecondary)"]
        routes:
          - name: db-primary-down
            match: {team: db, alertname: PrimaryDown}
            call: ["\(escalationPrimary)"]
            priority: 1
            escalate:
              wait: 2m
              steps:
                - call: ["roster:db-secondary"]
          - name: db
            match: {team: db}
            call: ["roster:db-oncall"]
        """

    /// The escalation chain's numbers: the primary lets it ring out, the secondary answers.
    static let escalationPrimary = "+8613600000011"
    static let escalationSecondary = "+8613600000012"

    /// Alert records for the alerts topic, and what routing makes of them.
    struct AlertPlan: Sendable {
        var records: [Planned]
        var requests: [RoutedRequest]
        /// The requests of escalation steps the demo's chain reaches (step 1 of db-primary-down).
        var escalatedRequests: [RoutedRequest]
        var notes: [String]
    }

    static func alertPlan(router: Router) -> AlertPlan {
        let firing = #"{"status":"firing","labels":{"alertname":"ReplicationBroken","team":"db","instance":"db-02"},"annotations":{"summary":"replica stopped"},"startsAt":"2026-12-04T09:00:00Z"}"#
        let resolved = #"{"status":"resolved","labels":{"alertname":"DiskFull","team":"db","instance":"db-03"},"annotations":{"summary":"disk ok"},"startsAt":"2026-12-04T08:00:00Z"}"#
        let primaryDown = #"{"status":"firing","labels":{"alertname":"PrimaryDown","team":"db","instance":"db-01"},"annotations":{"summary":"primary unreachable"},"startsAt":"2026-12-04T09:30:00Z"}"#
        let payload = Array(#"{"version":"4","groupKey":"{}:{team=\"db\"}","status":"firing","receiver":"aicc","alerts":[\#(firing),\#(resolved)]}"#.utf8)
        let page = Array(#"{"version":"4","groupKey":"{}:{alertname=\"PrimaryDown\"}","status":"firing","receiver":"aicc","alerts":[\#(primaryDown)]}"#.utf8)
        var requests: [RoutedRequest] = []
        var escalated: [RoutedRequest] = []
        for record in [payload, page] {
            guard case .alerts(let alerts) = AlertRecord.decode(value: record, headers: []) else { continue }
            for alert in alerts {
                if case .routed(let routed) = router.route(alert, recordTime: Date()) { requests += routed }
                for route in router.matchingRoutes(alert) where route.escalation != nil && alert.status == "firing" {
                    escalated += router.requests(for: alert, route: route, step: 1, recordTime: Date())
                }
            }
        }
        return AlertPlan(
            records: [
                Planned(requestId: nil, key: "am-db", value: payload, called: nil, note: "Alertmanager payload"),
                Planned(requestId: nil, key: "am-db", value: payload, called: nil, note: "Alertmanager repeat"),
                Planned(requestId: nil, key: "am-page", value: page, called: nil, note: "Alertmanager page with an escalation"),
            ],
            requests: requests,
            escalatedRequests: escalated,
            notes: [
                "alert DiskFull resolved: nobody is called",
                "Alertmanager repeated ReplicationBroken: the same requests, no new call",
            ])
    }

    /// The demo's storm budget: 2 calls per number in 5 minutes, priority 1 bypasses.
    static let stormBudget = StormBudget(window: .seconds(300), burst: 2, bypassPriority: 1)

    static func plan(count: Int) -> [Planned] {
        func request(_ id: String, key: String? = nil, called: String, text: String, expiresAt: String? = nil, priority: Int = 3) -> [UInt8] {
            var json = #"{"requestId":"\#(id)","#
            if let key { json += #""idempotencyKey":"\#(key)","# }
            json += #""called":"\#(called)","voiceContent":[{"text":"\#(text)"}],"priority":\#(priority),"statusCallback":true"#
            if let expiresAt { json += #","expiresAt":"\#(expiresAt)""# }
            json += #","attributes":{"alert":"\#(id)","team":"storage"}}"#
            return Array(json.utf8)
        }
        let count = max(1, count)
        var plan: [Planned] = []
        for index in 0..<count {
            let called = "+86138" + String(format: "%08d", 10_000 + index)
            let id = "alert-\(index + 1)"
            plan.append(.init(requestId: id, key: id, value: request(id, called: called, text: "Disk full on db-\(index + 1)"), called: called, note: "valid"))
        }
        // A producer retry of the first request, and a second alert about the same incident.
        let first = plan[0]
        plan.append(.init(requestId: first.requestId, key: first.key, value: first.value, called: first.called, note: "redelivered"))
        let firstCalled = first.called ?? ""
        plan.append(.init(
            requestId: "alert-1-again", key: first.key,
            value: request("alert-1-again", key: first.key, called: firstCalled, text: "Disk full on db-1"),
            called: firstCalled, note: "same key, same content"))
        plan.append(.init(
            requestId: "alert-1-reused", key: first.key,
            value: request("alert-1-reused", key: first.key, called: firstCalled, text: "Something else"),
            called: firstCalled, note: "same key, other content"))
        plan.append(.init(
            requestId: "stale-alert", key: "stale-alert",
            value: request("stale-alert", called: "+8613900000001", text: "Old news", expiresAt: "2020-01-01T00:00:00Z"),
            called: "+8613900000001", note: "expiresAt passed"))
        plan.append(.init(
            requestId: "bad-number", key: "bad-number", value: request("bad-number", called: "call me maybe", text: "Hi"),
            called: "call me maybe", note: "invalid called"))
        plan.append(.init(requestId: nil, key: "garbage", value: Array("not json at all \u{1F4A5}".utf8), called: nil, note: "not a request"))
        // A small storm: four alerts for the on-call phone in a row; the budget
        // (2 calls per number in 5 minutes) lets two ring, and a priority-1
        // page bypasses it.
        let onCall = "+8613700000042"
        for index in 1...4 {
            let id = "storm-\(index)"
            // One Kafka key for the storm: its alerts are dispatched in order.
            plan.append(.init(
                requestId: id, key: "oncall-storm", value: request(id, called: onCall, text: "Replica lag \(index)"), called: onCall,
                note: index <= Demo.stormBudget.burst ? "storm, within the budget" : "storm, over the budget"))
        }
        plan.append(.init(
            requestId: "storm-page", key: "storm-page", value: request("storm-page", called: onCall, text: "Site down", priority: 1),
            called: onCall, note: "storm, priority 1 bypasses the budget"))
        return plan
    }

    private func produce(_ plan: [Planned], to topic: String, servers: String) async throws {
        let producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: servers), flushTimeout: .seconds(10)), logger: self.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await producer.run() }
            // One at a time, so offsets follow the plan.
            for record in plan {
                _ = try await producer.send(KafkaProducerMessage(topic: topic, key: record.key, value: record.value))
            }
            producer.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    // MARK: Reading back

    struct Collected: Sendable {
        var results: [NotificationResult]
        /// Dead-letter records by their source record
        /// (`dlq.source.topic/partition/offset`): copies count once.
        var deadLetters: [String: KafkaConsumerMessage]
        /// Copies beyond the first of a source record's dead letter.
        var deadLetterResends = 0
        var statuses: [CallStatusEvent] = []
        /// Escalation events (their JSON), in order.
        var escalations: [EscalationEventSummary] = []

        /// Counts a dead letter by its source record.
        mutating func deadLettered(_ message: KafkaConsumerMessage) {
            func header(_ name: String) -> String? {
                message.headers.first { $0.key == name }?.value.map { String(decoding: $0, as: UTF8.self) }
            }
            let source = [DeadLetterHeader.sourceTopic, DeadLetterHeader.sourcePartition, DeadLetterHeader.sourceOffset]
                .map { header($0) ?? "?" }.joined(separator: "/")
            let key = source == "?/?/?" ? "dlq/\(message.partition)/\(message.offset)" : source
            if self.deadLetters.updateValue(message, forKey: key) != nil { self.deadLetterResends += 1 }
        }
    }

    private func collect(
        results: String, deadLetter: String, callbacks: String, escalations: String, expectedEscalationEvents: Int, servers: String,
        expectedResults: Int, expectedDeadLetters: Int, progress: @Sendable (String) -> Void
    ) async throws -> Collected {
        let consumer = try KafkaConsumer(
            configuration: .init(
                groupID: "aicc-notify-demo-reader", topics: [results, deadLetter, callbacks, escalations],
                client: .init(bootstrapServers: servers)),
            logger: self.logger)
        let timeout = self.options.timeout
        return try await withThrowingTaskGroup(of: Collected?.self) { tasks in
            tasks.addTask {
                try await consumer.run()
                return nil
            }
            tasks.addTask {
                // Past the deadline, stop reading; what is missing is reported below.
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { consumer.triggerGracefulShutdown() }
                return nil
            }
            var collected = Collected(results: [], deadLetters: [:])
            var lastReport = ContinuousClock.now
            for await event in consumer.events {
                switch event {
                case .messages(let messages):
                    for message in messages {
                        switch message.topic {
                        case results:
                            if let result = try? JSONDecoder().decode(NotificationResult.self, from: Data(message.value)) {
                                collected.results.append(result)
                            }
                        case callbacks:
                            if let status = try? JSONDecoder().decode(CallStatusEvent.self, from: Data(message.value)) {
                                collected.statuses.append(status)
                            }
                        case escalations:
                            if let event = try? JSONDecoder().decode(EscalationEventSummary.self, from: Data(message.value)) {
                                collected.escalations.append(event)
                            }
                        default:
                            collected.deadLettered(message)
                        }
                    }
                case .partitionsRevoked(let revocation):
                    revocation.acknowledge()
                default:
                    break
                }
                let distinct = Set(collected.results.map(\.requestId)).count
                if ContinuousClock.now - lastReport > .milliseconds(500) {
                    lastReport = .now
                    progress("… \(distinct)/\(expectedResults) results, \(collected.deadLetters.count)/\(expectedDeadLetters) dead-lettered")
                }
                // Done when every record has its result or dead-letter record, and every accepted call its status.
                let accepted = Set(collected.results.filter { $0.outcome == .accepted }.compactMap(\.callSerialNo))
                let reported = Set(collected.statuses.map(\.callSerialNo))
                if distinct >= expectedResults && collected.deadLetters.count >= expectedDeadLetters && accepted.isSubset(of: reported)
                    && collected.escalations.count >= expectedEscalationEvents
                {
                    break
                }
            }
            consumer.triggerGracefulShutdown()
            for await event in consumer.events {
                if case .partitionsRevoked(let revocation) = event { revocation.acknowledge() }
            }
            tasks.cancelAll()
            let distinct = Set(collected.results.map(\.requestId)).count
            guard distinct >= expectedResults && collected.deadLetters.count >= expectedDeadLetters else {
                throw DemoError("only \(distinct) of \(expectedResults) results and \(collected.deadLetters.count) of \(expectedDeadLetters) dead-letter records within \(timeout)")
            }
            return collected
        }
    }

    private func report(plan: [Planned], alerts: AlertPlan, collected: Collected, simulator: AICCSimulator, elapsed: Duration) -> Report {
        // The latest result per request id (a redelivered request gets its stored result again).
        var latest: [String: NotificationResult] = [:]
        for result in collected.results { latest[result.requestId] = result }
        var rows: [Row] = []
        var seen: Set<String> = []
        for planned in plan {
            guard let requestId = planned.requestId else {
                rows.append(Row(
                    requestId: "(none)", called: "—", outcome: "dead-lettered", callSerialNo: "—", callStatus: "—",
                    attempts: "—", note: planned.note))
                continue
            }
            let isRepeat = !seen.insert(requestId).inserted
            let result = latest[requestId]
            rows.append(Row(
                requestId: requestId + (isRepeat ? " (again)" : ""),
                called: planned.called.map(PhoneNumberMask.mask) ?? "—",
                outcome: result?.outcome.rawValue ?? "missing",
                callSerialNo: result?.callSerialNo ?? "—",
                callStatus: result?.callSerialNo.flatMap { serial in collected.statuses.last { $0.callSerialNo == serial } }
                    .map { "\($0.status.rawValue) (\($0.releaseReason ?? "?"))" } ?? "—",
                attempts: result.map { String($0.attempts) } ?? "—",
                note: [planned.note, result?.error?.code].compactMap { $0 }.joined(separator: ": ")))
        }
        // The alerts: a row per request routing made, and one per alert that made none.
        for routed in alerts.requests + alerts.escalatedRequests {
            let result = latest[routed.idempotencyKey]
            rows.append(Row(
                requestId: routed.idempotencyKey, called: PhoneNumberMask.mask(routed.called),
                outcome: result?.outcome.rawValue ?? "missing", callSerialNo: result?.callSerialNo ?? "—",
                callStatus: result?.callSerialNo.flatMap { serial in collected.statuses.last { $0.callSerialNo == serial } }
                    .map { "\($0.status.rawValue) (\($0.releaseReason ?? "?"))" } ?? "—",
                attempts: result.map { String($0.attempts) } ?? "—",
                note: "alert \(routed.attributes["alert.name"] ?? "?") → route \(routed.attributes["route"] ?? "?")"
                    + (routed.step > 0 ? ", escalation step \(routed.step)" : "")))
        }
        for event in collected.escalations {
            let detail = switch event.state {
            case "escalated": "step \(event.step - 1) unanswered: step \(event.step) called"
            case "answered": "step \(event.step) answered: nobody more is called"
            default: "\(event.state) at step \(event.step)"
            }
            rows.append(Row(
                requestId: "(escalation)", called: event.recipients?.joined(separator: ",") ?? "—", outcome: event.state,
                callSerialNo: event.callSerialNo ?? "—", callStatus: "—", attempts: "—",
                note: "\(event.alert.name) on route \(event.route): \(detail)"))
        }
        for note in alerts.notes {
            rows.append(Row(requestId: "(alert)", called: "—", outcome: "—", callSerialNo: "—", callStatus: "—", attempts: "—", note: note))
        }
        var outcomes: [String: Int] = [:]
        for result in latest.values { outcomes[result.outcome.rawValue, default: 0] += 1 }
        let accepted = Set(latest.values.filter { $0.outcome == .accepted }.compactMap(\.callSerialNo))
        let calls = simulator.calls
        let simulatorAccepted = Set(calls.compactMap { $0.answer == "accepted" ? $0.callSerialNo : nil })
        return Report(
            rows: rows, outcomes: outcomes, deadLettered: collected.deadLetters.count, deadLetterResends: collected.deadLetterResends,
            callStatuses: Set(collected.statuses.map(\.callSerialNo)).count,
            escalations: collected.escalations.map { "\($0.state) (step \($0.step))" }, simulatorCalls: calls.count,
            simulatorAccepted: simulatorAccepted.count, matchesSimulator: accepted == simulatorAccepted, elapsed: elapsed)
    }
}

extension Demo {
    /// A TCP port free on loopback now (bound, then released), so that the
    /// callback URL can name the worker's port before it listens.
    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DemoError("no socket for a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard bound == 0, named == 0 else { throw DemoError("could not find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension Demo.Report {
    /// The table and the summary line, as printed.
    public var text: String {
        let header = Demo.Row(
            requestId: "requestId", called: "called", outcome: "outcome", callSerialNo: "callSerialNo",
            callStatus: "call status", attempts: "attempts", note: "what it was")
        let columns: [(Demo.Row) -> String] = [\.requestId, \.called, \.outcome, \.callSerialNo, \.callStatus, \.attempts, \.note]
        let all = [header] + self.rows
        let widths = columns.map { column in all.map { column($0).count }.max() ?? 0 }
        func line(_ row: Demo.Row) -> String {
            zip(columns, widths).map { column, width in
                let text = column(row)
                return text + String(repeating: " ", count: max(0, width - text.count))
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var lines = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        lines += self.rows.map(line)
        let outcomes = self.outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        let seconds = Double(self.elapsed.components.seconds) + Double(self.elapsed.components.attoseconds) / 1e18
        lines.append("")
        lines.append(
            "summary: \(self.outcomes.values.reduce(0, +)) requests: \(outcomes); \(self.deadLettered) dead-lettered"
                + (self.deadLetterResends > 0
                    ? " (\(self.deadLetterResends) dead letter(s) seen again after a rebalance: Kafka's at-least-once, counted once)" : "")
                + "; "
                + "\(self.callStatuses) call-status events; "
                + (self.escalations.isEmpty ? "" : "escalation: \(self.escalations.joined(separator: " → ")); ")
                + "the simulator recorded \(self.simulatorCalls) calls, \(self.simulatorAccepted) accepted; "
                + "results \(self.matchesSimulator ? "match" : "DO NOT match") the simulator; "
                + String(format: "%.1f s", seconds))
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }
}

/// An escalation event, as the demo reads it back.
struct EscalationEventSummary: Decodable, Sendable {
    struct AlertPart: Decodable, Sendable { var name: String }
    var alert: AlertPart
    var route: String
    var step: Int
    var state: String
    var recipients: [String]?
    var callSerialNo: String?
}

struct DemoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
