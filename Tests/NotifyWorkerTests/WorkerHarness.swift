import AICCSimulator
import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import NotifyCore
import NotifyWorker
import ServiceLifecycle
import Testing

/// The real parts of one worker scenario: librdkafka's mock cluster (in this
/// process, spoken to over loopback TCP), the AICC simulator over HTTP and a
/// SQLite file in a temp directory; topic and group names unique per scenario.
/// Results and dead-letter records are read back with kcat, a second Kafka
/// client.
struct WorkerHarness: Sendable {
    let cluster: KafkaMockCluster
    let simulator: AICCSimulator
    let simulatorURL: String
    let requestsTopic: String
    let resultsTopic: String
    let deadLetterTopic: String
    var callbacksTopic: String { self.requestsTopic.replacingOccurrences(of: ".requests", with: ".callbacks") }
    let group: String
    let storePath: String
    let logger: Logger

    /// Runs `body` with fresh parts; `partitions` for the input topic.
    static func with(
        partitions: Int = 4, simulator simulatorConfiguration: AICCSimulator.Configuration = .init(),
        _ body: @Sendable (WorkerHarness) async throws -> Void
    ) async throws {
        let logger = testLogger("harness")
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("worker"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var simulatorConfiguration = simulatorConfiguration
        if simulatorConfiguration.seed == nil { simulatorConfiguration.seed = 42 }
        try await AICCSimulator.withRunning(configuration: simulatorConfiguration, logger: testLogger("simulator")) { simulator in
            let name = uniqueName("n")
            let harness = WorkerHarness(
                cluster: cluster, simulator: simulator, simulatorURL: try await simulator.baseURL(),
                requestsTopic: "\(name).requests", resultsTopic: "\(name).results", deadLetterTopic: "\(name).dlq",
                group: "\(name).group", storePath: directory.appendingPathComponent("store.db").path, logger: logger)
            try cluster.createTopic(harness.requestsTopic, partitions: partitions)
            try cluster.createTopic(harness.resultsTopic, partitions: 2)
            try cluster.createTopic(harness.deadLetterTopic, partitions: 1)
            try cluster.createTopic(harness.callbacksTopic, partitions: 2)
            try await body(harness)
        }
    }

    /// A worker configuration pointing at these parts, with settings that
    /// keep scenarios short (fast backoff, short group timeouts, a high call rate).
    func configuration(_ change: (inout WorkerConfiguration) -> Void = { _ in }) -> WorkerConfiguration {
        var configuration = WorkerConfiguration(aicc: .init(baseURL: self.simulatorURL, appKey: "sim-app-key", appSecret: "sim-app-secret"))
        configuration.worker.id = "test-worker"
        configuration.kafka.bootstrapServers = self.cluster.bootstrapServers
        configuration.kafka.groupID = self.group
        configuration.kafka.topics.requests = self.requestsTopic
        configuration.kafka.topics.results = self.resultsTopic
        configuration.kafka.topics.deadLetter = self.deadLetterTopic
        configuration.kafka.topics.callbacks = self.callbacksTopic
        configuration.kafka.properties = WorkerHarness.fastGroupProperties
        configuration.aicc.callsPerSecond = 5000
        configuration.aicc.timeout = 2
        configuration.retry.initialBackoff = 0.05
        configuration.retry.maxBackoff = 0.5
        configuration.store.url = "sqlite:\(self.storePath)"
        configuration.dispatch.drainTimeout = 10
        configuration.http.host = "127.0.0.1"
        configuration.http.port = 0
        change(&configuration)
        return configuration
    }

    /// Group settings that keep the mock cluster's rebalances short (see the
    /// README: a rebalance waits up to session.timeout − 1 s).
    static let fastGroupProperties = [
        "session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "topic.metadata.refresh.interval.ms": "1000",
    ]

    /// Builds and runs a worker for the duration of `body`, then shuts it down
    /// gracefully (as SIGTERM would) and waits for it to stop.
    func withWorker(
        _ configuration: WorkerConfiguration, logger: Logger? = nil,
        _ body: @Sendable (Worker) async throws -> Void
    ) async throws {
        let logger = logger ?? testLogger("worker")
        let worker = try await buildWorker(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [worker], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body(worker)
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    // MARK: Producing

    /// Produces records to the input topic (keyed by `key` when given) and
    /// waits until Kafka acknowledged every one. The records are sent
    /// concurrently: their order within a partition is not guaranteed.
    func produce(_ records: [(key: String?, value: [UInt8])], headers: [KafkaHeader] = []) async throws {
        let producer = try KafkaProducer(
            configuration: .init(client: .init(bootstrapServers: self.cluster.bootstrapServers), flushTimeout: .seconds(10)),
            logger: self.logger)
        let topic = self.requestsTopic
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await producer.run() }
            try await withThrowingTaskGroup(of: Void.self) { sends in
                for record in records {
                    sends.addTask {
                        _ = try await producer.send(KafkaProducerMessage(
                            topic: topic, key: record.key.map { Array($0.utf8) }, value: record.value, headers: headers))
                    }
                }
                try await sends.waitForAll()
            }
            producer.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Produces requests, keyed by their idempotency key.
    func produce(requests: [TestRequest]) async throws {
        try await self.produce(requests.map { (key: $0.kafkaKey, value: $0.bytes) })
    }

    // MARK: Reading back

    /// Every record of `topic` now (kcat, reading to the end of each partition).
    func records(of topic: String) async throws -> [KcatRecord] {
        guard let kcat = which("kcat") else { throw TestFailure("kcat is not installed (ops/install-prerequisites.sh)") }
        let output = try await runProgram(kcat, ["-C", "-b", self.cluster.bootstrapServers, "-t", topic, "-e", "-q", "-J"])
        guard output.status == 0 else { throw TestFailure("kcat failed: \(output.stderr)") }
        return try output.stdout.split(separator: "\n").map { line in
            try JSONDecoder().decode(KcatRecord.self, from: Data(line.utf8))
        }
    }

    /// The results published now, decoded.
    func results() async throws -> [PublishedResult] {
        try await self.records(of: self.resultsTopic).map { record in
            let payload = Data((record.payload ?? "").utf8)
            return PublishedResult(
                key: record.key, raw: record.payload ?? "",
                result: try JSONDecoder().decode(NotificationResult.self, from: payload))
        }
    }

    /// Waits until at least `count` results are published (or `timeout`
    /// passes, which fails the test), and returns them.
    @discardableResult
    func waitForResults(_ count: Int, timeout: Duration = .seconds(60)) async throws -> [PublishedResult] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let results = try await self.results()
            if results.count >= count { return results }
            guard ContinuousClock.now < deadline else {
                throw TestFailure("only \(results.count) of \(count) results within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Waits until the group has committed the end of every input partition.
    func waitForCommittedEnd(timeout: Duration = .seconds(30)) async throws {
        let consumer = try KafkaConsumer(
            configuration: .init(
                groupID: self.group, topics: [self.requestsTopic],
                client: .init(bootstrapServers: self.cluster.bootstrapServers)),
            logger: self.logger)
        let watermarks = try await consumer.watermarks(topic: self.requestsTopic)
        let partitions = watermarks.keys.sorted().map { KafkaTopicPartition(topic: self.requestsTopic, partition: $0) }
        let deadline = ContinuousClock.now + timeout
        while true {
            let committed = try await consumer.committed(partitions)
            let behind = partitions.filter { (committed[$0] ?? nil) != watermarks[$0.partition]!.high }
            if behind.isEmpty { return }
            guard ContinuousClock.now < deadline else {
                throw TestFailure("committed offsets \(committed) do not reach the ends \(watermarks) within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }
}

/// A record as `kcat -J` prints it.
struct KcatRecord: Decodable, Sendable {
    var topic: String
    var partition: Int32
    var offset: Int64
    var key: String?
    var payload: String?
    var headers: [String]?

    /// Headers as pairs (kcat prints a flat `[name, value, name, value…]` list).
    var headerPairs: [(String, String)] {
        let flat = self.headers ?? []
        return stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0], flat[$0 + 1]) }
    }

    func header(_ name: String) -> String? {
        self.headerPairs.last { $0.0 == name }?.1
    }
}

/// A published notification-result.
struct PublishedResult: Sendable {
    var key: String?
    var raw: String
    var result: NotificationResult
}

/// A notification-request for tests, as JSON.
struct TestRequest: Sendable {
    var requestId: String
    var idempotencyKey: String?
    var called: String
    var text: String
    var expiresAt: String?
    var statusCallback: Bool = false
    var attributes: [String: String] = [:]

    init(_ requestId: String, key: String? = nil, called: String = "+8613800000000", text: String = "Disk full on db-1", expiresAt: String? = nil) {
        self.requestId = requestId
        self.idempotencyKey = key
        self.called = called
        self.text = text
        self.expiresAt = expiresAt
    }

    var kafkaKey: String { self.idempotencyKey ?? self.requestId }

    var bytes: [UInt8] {
        var object: [String: Any] = [
            "requestId": self.requestId, "called": self.called, "voiceContent": [["text": self.text]],
            "statusCallback": self.statusCallback, "attributes": self.attributes,
        ]
        if let key = self.idempotencyKey { object["idempotencyKey"] = key }
        if let expiresAt = self.expiresAt { object["expiresAt"] = expiresAt }
        return Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
}

/// A distinct called number per index (E.164, Chinese mobile range).
func phoneNumber(_ index: Int) -> String {
    "+86138" + String(format: "%08d", index)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A logger for tests: silent unless `AICC_TEST_LOG=debug|info|...` is set,
/// and never through the global bootstrap.
func testLogger(_ label: String) -> Logger {
    guard let levelName = ProcessInfo.processInfo.environment["AICC_TEST_LOG"],
          let level = Logger.Level(rawValue: levelName) else {
        return Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() })
    }
    var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
    logger.logLevel = level
    return logger
}

/// A unique name per test run.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

func which(_ name: String) -> URL? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return nil
}

struct ProgramOutput {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion and captures its output, off Swift's
/// cooperative pool: reading its pipes and waiting for its exit block a
/// thread, and on two cores two such waits on the pool's threads stalled
/// every other task of a parallel test run (seen: a run that hung for 25
/// minutes).
func runProgram(_ executable: URL, _ arguments: [String]) async throws -> ProgramOutput {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try runProgramBlocking(executable, arguments) })
        }
    }
}

private func runProgramBlocking(_ executable: URL, _ arguments: [String]) throws -> ProgramOutput {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProgramOutput(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

enum ProcessSupport {
    /// The repository root (for `schemas/`).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// A small seeded generator, so that random inputs are the same every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A TCP port free on loopback now (bound and released), for a listener whose
/// URL must be known before it starts.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    guard bound == 0 else { throw TestFailure("bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    guard named == 0 else { throw TestFailure("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
