import AICCSimulator
import Foundation
import Kafka
import Logging
import NotifyCore
import Testing

/// The worker as its own process (`aicc-notify run`), against a mock Kafka
/// cluster in another process (`aicc-notify kafka-mock`) and the AICC simulator
/// over HTTP: crashes (SIGKILL) with restarts, and SIGTERM under load
/// (issue #6).
@Suite("aicc-notify run as its own process", .serialized, .timeLimit(.minutes(10)))
struct WorkerProcessTests {
    @Test("SIGKILL at random moments, 5 times in 2,000 requests: no key reaches AICC twice", arguments: ["report", "retry"])
    func crashAndRestart(policy: String) async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.latency = .milliseconds(30)
        simulator.jitter = .milliseconds(40)
        simulator.seed = 11
        try await ProcessScenario.with(simulator: simulator) { s in
            let requests = (0..<2000).map { ProcessScenario.request($0) }
            try await s.produce(requests)
            let environment = s.environment(["AICC_NOTIFY_DISPATCH_IN_DOUBT_POLICY": policy])
            var random = SystemRandomNumberGenerator()
            let kills = 5
            // A fast worker may finish all 2,000 before the fifth kill: then
            // there is nothing left to interrupt (and no progress to wait for).
            for round in 0..<kills where try s.distinctResults().count < requests.count {
                let before = try s.distinctResults().count
                let worker = try s.startWorker(environment)
                // Kill it while it works: after it made progress, at a random moment.
                try await s.waitUntil("round \(round) makes progress (\(before) of \(requests.count) done)", timeout: .seconds(60)) {
                    try s.distinctResults().count > before
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...600, using: &random)))
                worker.signal(SIGKILL)
                _ = worker.waitForExit(timeout: 10)
            }
            let last = try s.startWorker(environment)
            try await s.waitUntil("every request has a result", timeout: .seconds(180)) {
                try s.distinctResults().count == requests.count
            }
            last.signal(SIGTERM)
            #expect(last.waitForExit(timeout: 30) == 0)

            let results = try s.distinctResults()
            let stats = s.simulator.stats
            let maxInDoubt = kills * ProcessScenario.maxConcurrency
            #expect(Set(results.keys) == Set(requests.map(\.requestId)))
            let indeterminate = results.values.filter { $0.outcome == .indeterminate }
            switch policy {
            case "report":
                // No phone rang twice; doubt only where a worker died mid-call.
                for request in requests {
                    #expect(stats.calls(to: request.called) <= 1, "\(request.requestId) reached AICC \(stats.calls(to: request.called)) times")
                }
                #expect(indeterminate.count <= maxInDoubt)
                for result in results.values where result.outcome != .indeterminate {
                    #expect(result.outcome == .accepted, "\(result.requestId): \(result.outcome)")
                }
                for result in indeterminate {
                    #expect(result.error?.code == DispatchErrorCode.claimInDoubt)
                }
            default:
                // At most one extra call each time a key was found in doubt (a
                // key can be mid-call at two of the five kills), and no doubt reported.
                #expect(indeterminate.isEmpty)
                #expect(results.values.allSatisfy { $0.outcome == .accepted })
                let doubts = try s.inDoubtTakeovers()
                for request in requests {
                    let allowed = 1 + (doubts[request.requestId] ?? 0)
                    #expect(stats.calls(to: request.called) <= allowed,
                            "\(request.requestId): \(stats.calls(to: request.called)) calls, in doubt \(allowed - 1) times")
                }
                #expect(doubts.values.reduce(0, +) <= maxInDoubt)
            }
            // Results that were republished after a crash are byte-for-byte the stored ones.
            for (requestId, copies) in try s.allResultPayloads() where Set(copies).count > 1 {
                Issue.record("\(requestId) was published with different contents: \(copies)")
            }
        }
    }

    @Test("SIGTERM under load: exits 0 within the bound; a restart re-processes nothing already published")
    func gracefulShutdownUnderLoad() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.latency = .milliseconds(50)
        try await ProcessScenario.with(simulator: simulator) { s in
            let requests = (0..<1000).map { ProcessScenario.request($0) }
            try await s.produce(requests)
            let environment = s.environment(["AICC_NOTIFY_DISPATCH_DRAIN_TIMEOUT": "10"])
            let worker = try s.startWorker(environment)
            try await s.waitUntil("the worker makes progress", timeout: .seconds(60)) {
                try s.distinctResults().count >= 100
            }
            let stopped = ContinuousClock.now
            worker.signal(SIGTERM)
            let status = worker.waitForExit(timeout: 30)
            let took = ContinuousClock.now - stopped
            #expect(status == 0, "\(worker.stderrText)")
            #expect(took < .seconds(10 + 8), "shutdown took \(took)")
            let publishedBefore = try s.allResultPayloads()
            #expect(publishedBefore.count < requests.count, "the load finished before SIGTERM; nothing was tested")

            let again = try s.startWorker(environment)
            try await s.waitUntil("every request has a result", timeout: .seconds(120)) {
                try s.distinctResults().count == requests.count
            }
            again.signal(SIGTERM)
            #expect(again.waitForExit(timeout: 30) == 0)
            // Nothing that had a result was processed again: one result each.
            let all = try s.allResultPayloads()
            for (requestId, copies) in all where copies.count != 1 {
                Issue.record("\(requestId) has \(copies.count) results")
            }
            #expect(s.simulator.stats.totalCalls == requests.count)
        }
    }
}

/// A mock Kafka cluster in its own process, the simulator in this one, and
/// helpers to start `aicc-notify run` against them.
struct ProcessScenario: Sendable {
    static let maxConcurrency = 16

    /// The `kafka-mock` process (`nil` on another broker).
    let kafka: ChildProcess?
    let bootstrapServers: String
    let simulator: AICCSimulator
    let simulatorURL: String
    let storePath: String
    let logDirectory: URL

    static let requestsTopic = "notification.requests"
    static let resultsTopic = "notification.results"
    static let callbacksTopic = "notification.callbacks"
    static let alertsTopic = "alerts"

    /// Runs `body` with a mock cluster of `brokers` brokers (the requests
    /// topic with `partitions` partitions; with `signalBroker`, SIGUSR1/SIGUSR2
    /// to the cluster process take that broker down and up) and the simulator.
    static func with(
        simulator configuration: AICCSimulator.Configuration, brokers: Int = 1, partitions: Int = 4, signalBroker: Int32? = nil,
        _ body: @Sendable (ProcessScenario) async throws -> Void
    ) async throws {
        var arguments = [
            "kafka-mock", "--brokers", String(brokers), "--topic", "\(requestsTopic):\(partitions)", "--topic", "\(resultsTopic):2",
            "--topic", "notification.requests.dlq:1", "--topic", "\(callbacksTopic):2", "--topic", "\(alertsTopic):2",
            "--topic", "notification.escalations:1",
            "--log-level", "warning",
        ]
        if let signalBroker { arguments += ["--signal-broker", String(signalBroker)] }
        let kafka = try ChildProcess(ProcessSupport.binary, arguments)
        defer {
            kafka.signal(SIGTERM)
            _ = kafka.waitForExit(timeout: 10)
        }
        guard let servers = kafka.firstLine(), !servers.isEmpty else { throw ScenarioFailure("kafka-mock printed no bootstrap servers") }
        try await Self.with(kafka: kafka, bootstrapServers: servers, simulator: configuration, body)
    }

    /// Runs `body` against a broker that is already there (`bootstrapServers`,
    /// its topics made by the caller) and the simulator.
    static func with(
        kafka: ChildProcess? = nil, bootstrapServers servers: String, simulator configuration: AICCSimulator.Configuration,
        _ body: @Sendable (ProcessScenario) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aicc-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer {
            // AICC_NOTIFY_TEST_KEEP_LOGS=1 keeps the workers' logs for a look after the run.
            if ProcessInfo.processInfo.environment["AICC_NOTIFY_TEST_KEEP_LOGS"] == nil {
                try? FileManager.default.removeItem(at: directory)
            } else {
                print("worker logs kept in \(directory.path)")
            }
        }
        let logger = Logger(label: "simulator", factory: { _ in SwiftLogNoOpLogHandler() })
        try await AICCSimulator.withRunning(configuration: configuration, logger: logger) { simulator in
            let scenario = ProcessScenario(
                kafka: kafka, bootstrapServers: servers, simulator: simulator, simulatorURL: try await simulator.baseURL(),
                storePath: directory.appendingPathComponent("store.db").path, logDirectory: directory)
            try await body(scenario)
        }
    }

    static func request(_ index: Int) -> (requestId: String, called: String, bytes: [UInt8]) {
        let requestId = "r-\(index)"
        let called = "+86138" + String(format: "%08d", index)
        let json = #"{"requestId":"\#(requestId)","called":"\#(called)","voiceContent":[{"text":"Alert \#(index)"}],"statusCallback":false}"#
        return (requestId, called, Array(json.utf8))
    }

    /// The worker's configuration, as a deployment would set it: environment variables.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AICC_NOTIFY_") }
        let settings: [String: String] = [
            "AICC_NOTIFY_WORKER_ID": "e2e-worker",
            "AICC_NOTIFY_KAFKA_BOOTSTRAP_SERVERS": self.bootstrapServers,
            "AICC_NOTIFY_KAFKA_GROUP_ID": "e2e",
            "AICC_NOTIFY_KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500,topic.metadata.refresh.interval.ms=1000",
            "AICC_NOTIFY_AICC_BASE_URL": self.simulatorURL,
            "AICC_NOTIFY_AICC_APP_KEY": "sim-app-key",
            "AICC_NOTIFY_AICC_APP_SECRET": "sim-app-secret",
            "AICC_NOTIFY_AICC_MAX_CONCURRENCY": String(Self.maxConcurrency),
            "AICC_NOTIFY_AICC_CALLS_PER_SECOND": "200",
            "AICC_NOTIFY_RETRY_INITIAL_BACKOFF": "0.05",
            "AICC_NOTIFY_RETRY_MAX_BACKOFF": "0.5",
            "AICC_NOTIFY_STORE_URL": "sqlite:\(self.storePath)",
            "AICC_NOTIFY_HTTP_LISTEN": "127.0.0.1:0",
            "AICC_NOTIFY_LOG_LEVEL": ProcessInfo.processInfo.environment["AICC_NOTIFY_TEST_WORKER_LOG_LEVEL"] ?? "notice",
        ]
        environment.merge(settings) { _, new in new }
        environment.merge(extra) { _, new in new }
        return environment
    }

    func startWorker(_ environment: [String: String]) throws -> ChildProcess {
        let log = self.logDirectory.appendingPathComponent("worker-\(UUID().uuidString.prefix(6)).log")
        return try ChildProcess(ProcessSupport.binary, ["run"], environment: environment, stderrFile: log)
    }

    func produce(_ requests: [(requestId: String, called: String, bytes: [UInt8])]) async throws {
        try await self.produceRaw(requests.map { (key: Optional($0.requestId), value: $0.bytes) })
    }

    /// Produces records as given (key, value) to the requests topic and waits
    /// for every acknowledgement; they are sent concurrently.
    func produceRaw(_ records: [(key: String?, value: [UInt8])], topic: String = Self.requestsTopic) async throws {
        let logger = Logger(label: "producer", factory: { _ in SwiftLogNoOpLogHandler() })
        let producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: self.bootstrapServers), flushTimeout: .seconds(10)), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await producer.run() }
            try await withThrowingTaskGroup(of: Void.self) { sends in
                for record in records {
                    sends.addTask {
                        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: record.key.map { Array($0.utf8) }, value: record.value))
                    }
                }
                try await sends.waitForAll()
            }
            producer.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Every published result's payload, by request id (kcat).
    func allResultPayloads() throws -> [String: [String]] {
        guard let kcat = ProcessSupport.which("kcat") else { throw ScenarioFailure("kcat is not installed") }
        let output = try ProcessSupport.run(kcat, ["-C", "-b", self.bootstrapServers, "-t", Self.resultsTopic, "-e", "-q", "-f", "%s\\n"])
        guard output.status == 0 else { throw ScenarioFailure("kcat: \(output.stderr)") }
        var payloads: [String: [String]] = [:]
        for line in output.stdout.split(separator: "\n") {
            let result = try JSONDecoder().decode(NotificationResult.self, from: Data(line.utf8))
            payloads[result.requestId, default: []].append(String(line))
        }
        return payloads
    }

    /// The dead-letter topic's records: their `dlq.error.code` header and key (kcat).
    func deadLetters() throws -> [(code: String, key: String)] {
        guard let kcat = ProcessSupport.which("kcat") else { throw ScenarioFailure("kcat is not installed") }
        let output = try ProcessSupport.run(kcat, [
            "-C", "-b", self.bootstrapServers, "-t", "notification.requests.dlq", "-e", "-q", "-f", "%k\t%h\n",
        ])
        guard output.status == 0 else { throw ScenarioFailure("kcat: \(output.stderr)") }
        return output.stdout.split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            let headers = parts.count > 1 ? parts[1].split(separator: ",") : []
            let code = headers.first { $0.hasPrefix("dlq.error.code=") }.map { String($0.dropFirst("dlq.error.code=".count)) } ?? ""
            return (code, String(parts[0]))
        }
    }

    /// The latest result per request id.
    func distinctResults() throws -> [String: NotificationResult] {
        try self.allResultPayloads().compactMapValues { copies in
            copies.last.flatMap { try? JSONDecoder().decode(NotificationResult.self, from: Data($0.utf8)) }
        }
    }

    /// How many times each request's key was found in doubt, from the
    /// workers' logs ("claim found in doubt" warnings, text format).
    func inDoubtTakeovers() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        let files = try FileManager.default.contentsOfDirectory(atPath: self.logDirectory.path).filter { $0.hasSuffix(".log") }
        for file in files {
            let text = try String(contentsOf: self.logDirectory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains("claim found in doubt") {
                guard let range = line.range(of: "request.id=") else { continue }
                let requestId = line[range.upperBound...].prefix { $0 != " " }
                counts[String(requestId), default: 0] += 1
            }
        }
        return counts
    }

    /// The group's committed offset per input partition, and each partition's end.
    func committedAndEnds() async throws -> (committed: [Int32: Int64], ends: [Int32: Int64]) {
        let logger = Logger(label: "offsets", factory: { _ in SwiftLogNoOpLogHandler() })
        let consumer = try KafkaConsumer(
            configuration: .init(groupID: "e2e", topics: [Self.requestsTopic], client: .init(bootstrapServers: self.bootstrapServers)),
            logger: logger)
        let watermarks = try await consumer.watermarks(topic: Self.requestsTopic)
        let partitions = watermarks.keys.sorted().map { KafkaTopicPartition(topic: Self.requestsTopic, partition: $0) }
        let committed = try await consumer.committed(partitions)
        var byPartition: [Int32: Int64] = [:]
        for (partition, offset) in committed {
            if let offset { byPartition[partition.partition] = offset }
        }
        return (byPartition, watermarks.mapValues(\.high))
    }

    func waitUntil(_ what: String, timeout: Duration, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try !condition() {
            guard ContinuousClock.now < deadline else { throw ScenarioFailure("timed out after \(timeout): \(what)") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

struct ScenarioFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
