import AICCSimulator
import AsyncHTTPClient
import Foundation
import Kafka
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NotifyDemo
import NotifyWorker

/// `aicc-notify bench` (issue #10): runs the real worker — `aicc-notify run`,
/// its own process, the embedded SQLite store in a temp directory — against
/// librdkafka's mock cluster and the AICC simulator, both in this process, and
/// measures per scenario the sustained rate, the added latency (record
/// timestamp → AICC receipt), the worker's CPU time per 1,000 requests and its
/// peak RSS; and, through the same mock cluster, what raw librdkafka does
/// (`kcat` consume → `kcat` produce), so that the worker's rate is a fraction
/// of a ceiling measured on the same machine in the same run.
///
/// Measuring window: from the first result the reader sees to the last, so
/// start-up and the first fetch are left out; requests finished before the
/// window are left out of rate and CPU alike. The simulator's latency comes
/// after the receipt, so it is not part of the added latency; in the queued
/// scenarios the latency includes the time a request waited in the backlog,
/// which is why scenario c (steady arrivals) is the latency scenario.
public struct Benchmark: Sendable {
    /// What to run.
    public struct Options: Sendable {
        /// The `aicc-notify` executable that runs the worker.
        public var executable: String
        /// Scenarios, in order. Default: all.
        public var scenarios: [Scenario.Name] = Scenario.Name.allCases
        /// Measure the raw-librdkafka ceiling with kcat. Default true.
        public var ceiling: Bool = true
        /// Multiplies each scenario's request count. Default 1.
        public var scale: Double = 1
        /// The worker's `log.level` (default `info`, the product's default; its
        /// log goes to a file).
        public var workerLogLevel: String = "info"
        /// Extra `kafka.properties` for the worker (`name=value,…`, as
        /// `AICC_NOTIFY_KAFKA_PROPERTIES`). Default none.
        public var workerKafkaProperties: String?
        /// Extra `AICC_NOTIFY_*` variables for the worker (configuration
        /// keys the scenarios leave at their defaults, e.g. the storm budget).
        /// Default none.
        public var workerEnvironment: [String: String] = [:]
        /// The SQLite store's `synchronous` level, `full` or `normal`
        /// (`store.url`'s `?synchronous=`). Default `full`, the product's.
        public var storeSynchronous: String = "full"
        /// Requests-topic partitions. Default 6.
        public var partitions: Int = 6
        /// Give up on a scenario when no result arrives for this long, counted
        /// from when every worker is ready and the load has begun. Default 60 s.
        public var stallTimeout: Duration = .seconds(60)
        /// Parts of scenario f left out (`--f-without`). Default none.
        public var fWithout: Set<Scenario.Part> = []
        /// Keep the stores and worker logs in this directory instead of a
        /// removed temp directory.
        public var keepDirectory: String?

        public init(executable: String) {
            self.executable = executable
        }
    }

    /// Everything one run measured.
    public struct Report: Sendable {
        public var scenarios: [ScenarioResult]
        public var ceiling: CeilingResult?
        public var machine: String
    }

    public let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Runs the scenarios (then the ceiling); `progress` gets a line now and then.
    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> Report {
        let directory: URL
        if let keep = self.options.keepDirectory {
            directory = URL(fileURLWithPath: keep)
        } else {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("aicc-notify-bench-\(UUID().uuidString.prefix(8))")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if self.options.keepDirectory == nil { try? FileManager.default.removeItem(at: directory) } }

        var results: [ScenarioResult] = []
        for name in self.options.scenarios {
            let scenario = Scenario.standard(name, scale: self.options.scale, without: self.options.fWithout)
            progress("scenario \(name.rawValue): \(scenario.title)")
            let result = try await self.run(scenario, directory: directory.appendingPathComponent(name.rawValue), progress: progress)
            progress("scenario \(name.rawValue): " + Self.summary(result))
            if let floor = result.floorLatency { progress(Report.floorLine(name.rawValue, floor)) }
            results.append(result)
        }
        var ceiling: CeilingResult?
        if self.options.ceiling {
            let count = Scenario.standard(.a, scale: self.options.scale).requests
            progress("ceiling: kcat consume → kcat produce, \(count) records")
            ceiling = try await self.measureCeiling(records: count)
            progress(String(format: "ceiling: %.0f records/s, %.3f CPU-s per 1,000", ceiling!.recordsPerSecond, ceiling!.cpuPerThousand))
        }
        return Report(scenarios: results, ceiling: ceiling, machine: Self.machine())
    }

    // MARK: One scenario

    static let topics = (requests: "notification.requests", results: "notification.results",
                         callbacks: "notification.callbacks", deadLetter: "notification.requests.dlq")

    private func run(_ scenario: Scenario, directory: URL, progress: @escaping @Sendable (String) -> Void) async throws -> ScenarioResult {
        // A fresh store each time: one left by an earlier run (--keep) would
        // answer every request as already done.
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let cluster = try KafkaMockCluster(brokers: 1, logger: self.logger)
        defer { cluster.shutdown() }
        try cluster.createTopic(Self.topics.requests, partitions: self.options.partitions)
        try cluster.createTopic(Self.topics.results, partitions: self.options.partitions)
        try cluster.createTopic(Self.topics.callbacks, partitions: 1)
        try cluster.createTopic(Self.topics.deadLetter, partitions: 1)
        let servers = cluster.bootstrapServers

        var simulatorConfiguration = AICCSimulator.Configuration()
        simulatorConfiguration.latency = scenario.aiccLatency
        simulatorConfiguration.faults = .init(http500: scenario.transientFaults.http500, retCode1: scenario.transientFaults.retCode1)
        simulatorConfiguration.tokenLifetime = scenario.tokenLifetime
        simulatorConfiguration.seed = 25
        let quiet = Logger(label: "aicc-notify.bench.simulator", factory: { _ in SwiftLogNoOpLogHandler() })
        // Scenarios e1 and e: a private PostgreSQL server, shared by their workers.
        let postgres = scenario.postgres
            ? try BenchPostgres(directory: directory.appendingPathComponent("postgres"), port: try Demo.freeLoopbackPort()) : nil
        defer { postgres?.stop() }
        let storeURL = postgres?.url
            ?? "sqlite:\(directory.appendingPathComponent("store.db").path)?synchronous=\(self.options.storeSynchronous)"
        // With several workers, the backlog is produced once all are in the
        // group, so that the measured rate is not the first one's alone.
        let queueFirst = scenario.arrival == .queued && !scenario.postgres
        return try await AICCSimulator.withRunning(configuration: simulatorConfiguration, logger: quiet) { simulator in
            let requests = (0..<scenario.requests).map { BenchRequest($0, statusCallback: scenario.statusCallbacks) }
            let sent = SendTimes()
            if queueFirst {
                try await self.produce(requests, to: Self.topics.requests, servers: servers, pacing: nil, sent: sent)
                progress("  \(requests.count) requests queued")
            }
            var workers: [(process: MeasuredProcess, port: Int)] = []
            for index in 0..<scenario.workers {
                let port = try Demo.freeLoopbackPort()
                var environment = self.workerEnvironment(
                    scenario, servers: servers, simulatorURL: try await simulator.baseURL(), store: storeURL, port: port)
                let name = scenario.workers == 1 ? "worker" : "worker-\(index)"
                environment["AICC_NOTIFY_WORKER_ID"] = "bench-\(scenario.name.rawValue)-\(name)"
                let process = try MeasuredProcess(
                    executable: self.options.executable, arguments: ["run"], environment: environment,
                    logFile: directory.appendingPathComponent("\(name).log"))
                workers.append((process, port))
            }
            let processes = workers.map(\.process)
            let readiness = workers.map { (port: $0.port, process: $0.process) }
            let started = ContinuousClock.now
            // When every worker is ready and the load has begun: the stall
            // clock runs from then. Three workers joining at once can wait up
            // to the group's session timeout (librdkafka's default 45 s) for
            // the mock coordinator's first rebalance (seen: 44 s; over 60 s
            // in CI, which a stall clock from the start took for a hang).
            // `waitReady` bounds that wait on its own.
            let loadBegan = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
            let counter = NIOLockedValueBox(0)
            let floorArrivals = NIOLockedValueBox<[String: Double]>([:])
            let floorAssigned = NIOLockedValueBox(false)
            let measured: Measured
            do {
                measured = try await withThrowingTaskGroup(of: Measured?.self) { tasks in
                    tasks.addTask {
                        // With callbacks, a request is done when its call-status event is out too.
                        let topics = scenario.statusCallbacks ? [Self.topics.results, Self.topics.callbacks] : [Self.topics.results]
                        try await self.countRecords(on: topics, servers: servers, into: counter)
                        return nil
                    }
                    if case .steady = scenario.arrival {
                        tasks.addTask {
                            try await self.probeFloor(
                                topic: Self.topics.requests, servers: servers, properties: self.workerFetchProperties(scenario),
                                assigned: floorAssigned, into: floorArrivals)
                            return nil
                        }
                    }
                    tasks.addTask {
                        // Every worker ready, then (steady scenarios) the floor probe
                        // in its group: then the load begins.
                        let begin: @Sendable () async throws -> Void = {
                            for worker in readiness {
                                try await self.waitReady(port: worker.port, worker: worker.process)
                            }
                            guard case .steady = scenario.arrival else {
                                loadBegan.withLockedValue { $0 = ContinuousClock.now }
                                return
                            }
                            // A record the probe missed would not count; one it
                            // joined its group for late would count the join.
                            let probeDeadline = ContinuousClock.now + .seconds(60)
                            while !floorAssigned.withLockedValue({ $0 }), ContinuousClock.now < probeDeadline {
                                try await Task.sleep(for: .milliseconds(20))
                            }
                            if !floorAssigned.withLockedValue({ $0 }) {
                                progress("  the floor probe had no partitions after 60 s: its figures may miss the first records")
                            }
                            loadBegan.withLockedValue { $0 = ContinuousClock.now }
                        }
                        switch scenario.arrival {
                        case .steady(let perSecond):
                            // The load producer starts (connects, gets its producer id)
                            // while the workers do, so that its start-up is not in the
                            // first records' latency: an alerting pipeline's producer
                            // is long-running.
                            try await self.produce(
                                requests, to: Self.topics.requests, servers: servers, pacing: .seconds(1) / perSecond, sent: sent,
                                begin: begin)
                        case .queued where !queueFirst:
                            try await begin()
                            try await self.produce(requests, to: Self.topics.requests, servers: servers, pacing: nil, sent: sent)
                            progress("  \(requests.count) requests queued, \(readiness.count) workers ready")
                        case .queued:
                            try await begin()
                        }
                        return nil
                    }
                    tasks.addTask {
                        try await self.measure(
                            expected: requests.count * (scenario.statusCallbacks ? 2 : 1), counter: counter, workers: processes,
                            postgres: postgres, started: started, loadBegan: loadBegan, progress: progress)
                    }
                    var measured: Measured?
                    while let next = try await tasks.next() {
                        if let next {
                            measured = next
                            break
                        }
                    }
                    tasks.cancelAll()
                    guard let measured else { throw BenchmarkError("scenario \(scenario.name.rawValue) ended without a measurement") }
                    return measured
                }
            } catch {
                for worker in processes { await worker.stop() }
                let logs = processes.map(\.logFile.path).joined(separator: ", ")
                throw BenchmarkError("scenario \(scenario.name.rawValue): \(error) (worker log: \(logs))")
            }
            let callDurations = await self.callDurations(ports: workers.map(\.port))
            for worker in processes { await worker.stop() }

            // Calls that AICC accepted (a transient fault placed no call).
            let calls = simulator.calls.filter { $0.answer == "accepted" }
            let times = sent.snapshot()
            let latencies = calls.compactMap { call -> Double? in
                guard let called = call.called, let sentAt = times[called] else { return nil }
                return (call.time - sentAt) * 1000
            }
            let arrivals = floorArrivals.withLockedValue { $0 }
            let floor = requests.compactMap { request -> Double? in
                guard let receivedAt = arrivals[request.requestId], let sentAt = times[request.called] else { return nil }
                return (receivedAt - sentAt) * 1000
            }
            return ScenarioResult(
                scenario: scenario, windowRequests: measured.windowRequests / (scenario.statusCallbacks ? 2 : 1), window: measured.window, drain: measured.drain,
                latency: Percentiles(latencies), workerCPUSeconds: measured.workerCPU, postgresCPUSeconds: measured.postgresCPU,
                peakRSSBytes: measured.peakRSS, peakAnonymousBytes: measured.peakAnonymous, fileBackedBytes: measured.fileBacked,
                harnessCPUSeconds: measured.harnessCPU, aiccCalls: calls.count,
                distinctNumbersCalled: Set(calls.compactMap(\.called)).count,
                floorLatency: floor.isEmpty ? nil : Percentiles(floor),
                aiccCallMean: callDurations.flatMap { $0.count > 0 ? $0.sum / $0.count * 1000 : nil })
        }
    }

    struct Measured: Sendable {
        var windowRequests: Int
        var window: Duration
        var drain: Duration
        var workerCPU: Double
        var postgresCPU: Double?
        var harnessCPU: Double
        var peakRSS: Int
        var peakAnonymous: Int
        var fileBacked: Int
    }

    /// Samples the result count and the workers' CPU every 20 ms until every
    /// request has its result.
    private func measure(
        expected: Int, counter: NIOLockedValueBox<Int>, workers: [MeasuredProcess], postgres: BenchPostgres?,
        started: ContinuousClock.Instant, loadBegan: NIOLockedValueBox<ContinuousClock.Instant?>,
        progress: @Sendable (String) -> Void
    ) async throws -> Measured {
        var first: (time: ContinuousClock.Instant, count: Int, cpu: Double, postgres: Double, harness: Double)?
        var lastProgress = (time: ContinuousClock.now, count: 0)
        var lastReport = ContinuousClock.now
        // Private and file-backed memory, sampled every 100 ms (VmHWM, the
        // kernel's own peak, holds only their sum).
        var memorySamples = 0
        var peakAnonymous = 0
        var fileBacked = 0
        while true {
            try await Task.sleep(for: .milliseconds(20))
            memorySamples += 1
            if memorySamples % 5 == 1 {
                for worker in workers {
                    guard let memory = worker.residentMemory() else { continue }
                    peakAnonymous = max(peakAnonymous, memory.anonymous)
                    fileBacked = max(fileBacked, memory.file)
                }
            }
            let count = counter.withLockedValue { $0 }
            let now = ContinuousClock.now
            var cpu = 0.0
            for worker in workers {
                guard worker.isRunning, let seconds = worker.cpuSeconds() else {
                    throw BenchmarkError("a worker exited after \(count) of \(expected) results")
                }
                cpu += seconds
            }
            if first == nil && count > 0 { first = (now, count, cpu, postgres?.cpuSeconds() ?? 0, resourceUsageSeconds()) }
            if count > lastProgress.count { lastProgress = (now, count) }
            if count >= expected, let first {
                return Measured(
                    windowRequests: count - first.count, window: now - first.time, drain: now - started,
                    workerCPU: cpu - first.cpu, postgresCPU: postgres.map { $0.cpuSeconds() - first.postgres },
                    harnessCPU: resourceUsageSeconds() - first.harness,
                    peakRSS: workers.compactMap { $0.peakRSSBytes() }.max() ?? 0,
                    peakAnonymous: peakAnonymous, fileBacked: fileBacked)
            }
            if let began = loadBegan.withLockedValue({ $0 }), now - max(lastProgress.time, began) > self.options.stallTimeout {
                throw BenchmarkError("no result for \(self.options.stallTimeout) after \(count) of \(expected)")
            }
            if now - lastReport > .seconds(5) {
                lastReport = now
                progress("  … \(count)/\(expected) results")
            }
        }
    }

    /// The worker's configuration, as a deployment sets it: environment
    /// variables (`store`: the store URL). Rate ceiling off (1,000,000/s);
    /// callbacks only when the scenario asks for them.
    private func workerEnvironment(_ scenario: Scenario, servers: String, simulatorURL: String, store: String, port: Int) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AICC_NOTIFY_") }
        environment.merge([
            "AICC_NOTIFY_WORKER_ID": "bench-\(scenario.name.rawValue)",
            "AICC_NOTIFY_KAFKA_BOOTSTRAP_SERVERS": servers,
            "AICC_NOTIFY_KAFKA_GROUP_ID": "aicc-notify-bench",
            "AICC_NOTIFY_AICC_BASE_URL": simulatorURL,
            "AICC_NOTIFY_AICC_APP_KEY": "sim-app-key",
            "AICC_NOTIFY_AICC_APP_SECRET": "sim-app-secret",
            "AICC_NOTIFY_AICC_MAX_CONCURRENCY": String(scenario.maxConcurrency),
            "AICC_NOTIFY_AICC_CALLS_PER_SECOND": "1000000",
            "AICC_NOTIFY_STORE_URL": store,
            "AICC_NOTIFY_HTTP_LISTEN": "127.0.0.1:\(port)",
            "AICC_NOTIFY_LOG_LEVEL": self.options.workerLogLevel,
            "AICC_NOTIFY_LOG_FORMAT": "json",
        ]) { _, new in new }
        if scenario.statusCallbacks {
            environment["AICC_NOTIFY_CALLBACK_PUBLIC_BASE_URL"] = "http://127.0.0.1:\(port)/"
            environment["AICC_NOTIFY_CALLBACK_SECRET"] = "bench-callback-secret-of-32-characters"
        }
        if scenario.transientFaults != (0, 0) {
            environment["AICC_NOTIFY_RETRY_INITIAL_BACKOFF"] = "0.2"
            environment["AICC_NOTIFY_RETRY_MAX_BACKOFF"] = "2"
        }
        environment.merge(self.options.workerEnvironment) { _, new in new }
        let properties = [scenario.workerKafkaProperties, self.options.workerKafkaProperties].compactMap { $0 }
        if !properties.isEmpty {
            environment["AICC_NOTIFY_KAFKA_PROPERTIES"] = properties.joined(separator: ",")
        }
        return environment
    }

    /// The `fetch.*` librdkafka properties the scenario's worker runs with
    /// (from the scenario and `--worker-kafka-properties`, read as the worker
    /// reads `kafka.properties`), for the floor probe.
    private func workerFetchProperties(_ scenario: Scenario) -> [String: String] {
        let lists = [scenario.workerKafkaProperties, self.options.workerKafkaProperties].compactMap { $0 }
        let pairs = lists.flatMap { (try? WorkerConfiguration.parsePropertyList($0)) ?? [] }.filter { $0.0.hasPrefix("fetch.") }
        return Dictionary(pairs) { _, later in later }
    }

    /// The workers' AICC call durations, summed over their `/metrics`
    /// (`aicc_notify_aicc_call_duration_seconds`: from sending a call to its
    /// answer, as the worker saw it); `nil` if a worker did not answer.
    private func callDurations(ports: [Int]) async -> (sum: Double, count: Double)? {
        var total = (sum: 0.0, count: 0.0)
        for port in ports {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics")
            request.method = .GET
            guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(5)), response.status == .ok,
                  let body = try? await response.body.collect(upTo: 4 << 20)
            else { return nil }
            for line in String(buffer: body).split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let value = Double(parts[1]) else { continue }
                switch parts[0] {
                case "aicc_notify_aicc_call_duration_seconds_sum": total.sum += value
                case "aicc_notify_aicc_call_duration_seconds_count": total.count += value
                default: break
                }
            }
        }
        return total
    }

    /// Polls `/readyz` until the worker owns partitions (60 s at most).
    private func waitReady(port: Int, worker: MeasuredProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard worker.isRunning else { throw BenchmarkError("the worker exited at start") }
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/readyz")
            request.method = .GET
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)), response.status == .ok {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchmarkError("the worker was not ready within 60 s")
    }

    // MARK: Kafka load and results

    /// Produces `requests` (keyed by request id), at most 2,000 unacknowledged
    /// at once; with `pacing`, one every `pacing` on a fixed schedule. The
    /// producer starts first; the first record is sent once `begin` returns.
    func produce(
        _ requests: [BenchRequest], to topic: String, servers: String, pacing: Duration?, sent: SendTimes,
        begin: @Sendable () async throws -> Void = {}
    ) async throws {
        let producer = try KafkaProducer(
            configuration: .init(client: .init(bootstrapServers: servers), flushTimeout: .seconds(30)), logger: self.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await producer.run() }
            _ = try await producer.partitions(of: topic)
            try await begin()
            try await withThrowingTaskGroup(of: Void.self) { sends in
                let start = ContinuousClock.now
                var outstanding = 0
                for (index, request) in requests.enumerated() {
                    if let pacing { try await Task.sleep(until: start + pacing * index, clock: .continuous) }
                    if outstanding >= 2_000 {
                        try await sends.next()
                        outstanding -= 1
                    }
                    sent.record(request.called)
                    let message = KafkaProducerMessage(topic: topic, key: request.requestId, value: request.bytes)
                    sends.addTask { _ = try await producer.send(message) }
                    outstanding += 1
                }
                try await sends.waitForAll()
            }
            producer.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Counts records on `topics` (results: one per request; call-status
    /// events: one per accepted call) until cancelled.
    private func countRecords(on topics: [String], servers: String, into counter: NIOLockedValueBox<Int>) async throws {
        try await self.consume(topics, servers: servers, group: "aicc-notify-bench-reader") { messages in
            counter.withLockedValue { $0 += messages.count }
        }
    }

    /// Notes when a bare consumer — the same mock broker and the same fetch
    /// settings as the worker, and nothing else to do — receives each request
    /// (wall clock, by request id), until cancelled: the share of the added
    /// latency that is the load producer's and the broker's, not the worker's.
    private func probeFloor(
        topic: String, servers: String, properties: [String: String], assigned: NIOLockedValueBox<Bool>,
        into arrivals: NIOLockedValueBox<[String: Double]>
    ) async throws {
        try await self.consume(
            [topic], servers: servers, group: "aicc-notify-bench-floor", properties: properties,
            onAssigned: { assigned.withLockedValue { $0 = true } }
        ) { messages in
            let now = Date().timeIntervalSince1970
            arrivals.withLockedValue { arrivals in
                for message in messages {
                    if let key = message.key { arrivals[String(decoding: key, as: UTF8.self)] = now }
                }
            }
        }
    }

    /// Consumes `topics` in a group of its own, handing each fetched batch to
    /// `onMessages`, until cancelled.
    private func consume(
        _ topics: [String], servers: String, group: String, properties: [String: String] = [:],
        onAssigned: @escaping @Sendable () -> Void = {}, onMessages: @escaping @Sendable ([KafkaConsumerMessage]) -> Void
    ) async throws {
        let consumer = try KafkaConsumer(
            configuration: .init(
                groupID: "\(group)-\(UUID().uuidString.prefix(6))", topics: topics,
                client: .init(bootstrapServers: servers, properties: properties)),
            logger: self.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await consumer.run() }
            await withTaskCancellationHandler {
                for await event in consumer.events {
                    switch event {
                    case .messages(let messages):
                        onMessages(messages)
                    case .partitionsAssigned:
                        onAssigned()
                    case .partitionsRevoked(let revocation):
                        revocation.acknowledge()
                    default:
                        break
                    }
                }
            } onCancel: {
                consumer.triggerGracefulShutdown()
            }
            try await tasks.waitForAll()
        }
    }

    // MARK: Printing

    static func summary(_ result: ScenarioResult) -> String {
        String(
            format: "%.0f requests/s, added latency p50 %.1f / p99 %.1f / p99.9 %.1f ms, %.3f worker CPU-s per 1,000, peak RSS %.1f MiB (private %.1f, file-backed %.1f), drained in %.1f s",
            result.requestsPerSecond, result.latency.p50, result.latency.p99, result.latency.p999, result.workerCPUPerThousand,
            Double(result.peakRSSBytes) / 1_048_576, Double(result.peakAnonymousBytes) / 1_048_576,
            Double(result.fileBackedBytes) / 1_048_576, result.drain.seconds)
    }

    static func machine() -> String {
        let cpuInfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuInfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown CPU"
        let memInfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let memory = memInfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int($0) } }.map { String(format: "%.0f GiB", Double($0) / 1_048_576) } ?? "?"
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores (\(model)), \(memory) RAM"
    }
}

/// One request of a benchmark: distinct id and number, 17 bytes of voice text.
struct BenchRequest: Sendable {
    var requestId: String
    var called: String
    var bytes: [UInt8]

    init(_ index: Int, statusCallback: Bool = false) {
        self.requestId = "bench-\(index)"
        self.called = "+86138" + String(format: "%08d", index)
        let json = #"{"requestId":"\#(self.requestId)","called":"\#(self.called)","voiceContent":[{"text":"Disk full on db-\#(index % 100)"}],"priority":3,"statusCallback":\#(statusCallback)}"#
        self.bytes = Array(json.utf8)
    }
}

/// When each request was produced (wall clock, seconds since the epoch), by `called`.
final class SendTimes: Sendable {
    private let times = NIOLockedValueBox<[String: Double]>([:])

    func record(_ called: String) {
        let now = Date().timeIntervalSince1970
        self.times.withLockedValue { $0[called] = now }
    }

    func snapshot() -> [String: Double] { self.times.withLockedValue { $0 } }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
