/// One benchmark scenario (issue #10): how requests arrive, how AICC answers,
/// and how many.
public struct Scenario: Sendable, Hashable {
    /// The scenarios of issues #10 and #25.
    public enum Name: String, CaseIterable, Sendable, Hashable {
        /// AICC answers instantly: the worker's CPU-bound ceiling.
        case a
        /// AICC takes 200 ms with 512 calls in flight: concurrency.
        case b
        /// A steady 100 requests/s for 60 s: added latency.
        case c
        /// 50,000 requests already queued: drain time and peak memory.
        case d
        /// One worker on PostgreSQL, AICC taking 200 ms, 64 in flight: the base
        /// that scenario e is measured against (issue #25).
        case e1
        /// Three workers on one PostgreSQL, each as in e1: the fleet's rate
        /// against one worker's, and PostgreSQL's CPU per 1,000 (issue #25).
        case e
        /// How alerting loads the worker (issue #25): a steady 50 requests/s,
        /// each with a status callback, 10 % transient AICC faults, tokens that
        /// live 5 s: the fixed per-request costs.
        case f
    }

    /// A part of scenario f that `--f-without` leaves out, to see what it costs.
    public enum Part: String, CaseIterable, Sendable, Hashable {
        /// Status callbacks: requests ask for none, done at their result.
        case callbacks
        /// The 10 % transient AICC faults.
        case faults
        /// The 5 s tokens (tokens then live as long as asked, an hour).
        case tokens
    }

    /// How the requests reach Kafka.
    public enum Arrival: Sendable, Hashable {
        /// All produced before the worker starts (a backlog).
        case queued
        /// Produced at a steady rate while the worker runs.
        case steady(perSecond: Int)
    }

    public var name: Name
    /// One line saying what the scenario is.
    public var title: String
    /// Requests sent (each a distinct request to a distinct number).
    public var requests: Int
    public var arrival: Arrival
    /// The simulator's answer latency (it answers after this long).
    public var aiccLatency: Duration
    /// `aicc.maxConcurrency` for the worker.
    public var maxConcurrency: Int
    /// `kafka.properties` for the worker, as `AICC_NOTIFY_KAFKA_PROPERTIES`.
    public var workerKafkaProperties: String? = nil
    /// Every request asks for a status report, which the simulator posts to
    /// the worker's callback endpoint; a request is done when its result and
    /// its call-status event are both on Kafka. Default false.
    public var statusCallbacks = false
    /// Rates (0…1) of AICC answers that are transient faults: HTTP 500 and
    /// retCode 1 (the worker retries both). Default none.
    public var transientFaults: (http500: Double, retCode1: Double) = (0, 0)
    /// How long the simulator's tokens live (nil: as asked). Default nil.
    public var tokenLifetime: Duration? = nil
    /// Worker processes, one consumer group. Default 1.
    public var workers = 1
    /// The store: a private PostgreSQL server the bench starts (true), or
    /// each worker's SQLite file (false, the product's default). Default false.
    public var postgres = false

    public static func == (lhs: Scenario, rhs: Scenario) -> Bool { lhs.name == rhs.name && lhs.requests == rhs.requests }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.name)
        hasher.combine(self.requests)
    }

    /// The issue's scenario `name`, its request count multiplied by `scale`
    /// (at least 100; scenarios c and f keep their rate and run `60 s × scale`);
    /// scenario f without the parts in `without`.
    public static func standard(_ name: Name, scale: Double = 1, without: Set<Part> = []) -> Scenario {
        func scaled(_ count: Int) -> Int { max(100, Int((Double(count) * scale).rounded())) }
        switch name {
        case .a:
            return Scenario(
                name: .a, title: "AICC answers instantly (CPU-bound ceiling), 20,000 queued", requests: scaled(20_000),
                arrival: .queued, aiccLatency: .zero, maxConcurrency: 512)
        case .b:
            return Scenario(
                name: .b, title: "AICC takes 200 ms, 512 in flight, 25,000 queued", requests: scaled(25_000),
                arrival: .queued, aiccLatency: .milliseconds(200), maxConcurrency: 512)
        case .c:
            return Scenario(
                name: .c, title: "steady 100 requests/s for 60 s, AICC takes 200 ms", requests: scaled(6_000),
                arrival: .steady(perSecond: 100), aiccLatency: .milliseconds(200), maxConcurrency: 512,
                // librdkafka's mock broker holds every fetch for the whole
                // fetch.wait.max.ms (500 ms) even when records arrive meanwhile,
                // where a real broker answers once fetch.min.bytes (1) is there:
                // without this, the mock's wait (~250 ms on average) would be
                // most of the "added latency". The worker pays for the shorter
                // poll with idle fetches (CPU per 1,000 is higher at 100/s).
                workerKafkaProperties: "fetch.wait.max.ms=10")
        case .d:
            return Scenario(
                name: .d, title: "50,000 queued, AICC takes 200 ms, 512 in flight", requests: scaled(50_000),
                arrival: .queued, aiccLatency: .milliseconds(200), maxConcurrency: 512)
        case .e1, .e:
            let workers = name == .e ? 3 : 1
            var e = Scenario(
                name: name,
                title: "\(workers == 1 ? "one worker" : "\(workers) workers") on one PostgreSQL, AICC takes 200 ms, 64 in flight each",
                requests: scaled(9_000), arrival: .queued, aiccLatency: .milliseconds(200), maxConcurrency: 64)
            e.workers = workers
            e.postgres = true
            return e
        case .f:
            var f = Scenario(
                name: .f, title: "steady 50 requests/s for 60 s, each with a status callback, 10 % AICC faults, 5 s tokens, AICC takes 200 ms",
                requests: scaled(3_000), arrival: .steady(perSecond: 50), aiccLatency: .milliseconds(200), maxConcurrency: 64)
            // librdkafka's default fetch.wait.max.ms (500 ms), unlike scenario c:
            // f measures CPU, and a 10 ms fetch loop against the mock broker
            // (which holds every fetch for the whole wait) cost 40 % of it.
            // Its latency is the mock's, not a real broker's.
            f.statusCallbacks = !without.contains(.callbacks)
            f.transientFaults = without.contains(.faults) ? (0, 0) : (http500: 0.05, retCode1: 0.05)
            f.tokenLifetime = without.contains(.tokens) ? nil : .seconds(5)
            if !without.isEmpty { f.title += " — without " + without.map(\.rawValue).sorted().joined(separator: ", ") }
            return f
        }
    }
}

/// What one scenario measured.
public struct ScenarioResult: Sendable {
    public var scenario: Scenario
    /// Results counted inside the measuring window (from the first result to
    /// the last; the ones before the window are left out of rate and CPU).
    public var windowRequests: Int
    /// Length of the measuring window.
    public var window: Duration
    /// From the worker's start to the last result.
    public var drain: Duration
    /// Added latency (record timestamp → AICC receipt), milliseconds: p50, p99, p99.9.
    public var latency: Percentiles
    /// The worker processes' CPU time (user + system) inside the window.
    public var workerCPUSeconds: Double
    /// The PostgreSQL server's CPU time inside the window (its processes,
    /// and those that ended), when the scenario runs on PostgreSQL.
    public var postgresCPUSeconds: Double? = nil
    /// The worker process's peak resident set size (VmHWM), bytes.
    public var peakRSSBytes: Int
    /// Its peak private (anonymous) resident memory, sampled every 100 ms,
    /// bytes: the part that grows with load.
    public var peakAnonymousBytes: Int = 0
    /// Its largest file-backed resident memory (the executable and shared
    /// libraries, shared with the page cache), bytes: what it costs before
    /// any load.
    public var fileBackedBytes: Int = 0
    /// CPU time of the benchmark process itself inside the window (mock Kafka,
    /// the simulator, the load generator and the results reader).
    public var harnessCPUSeconds: Double
    /// `createVoiceNotification` calls the simulator received, and distinct numbers called.
    public var aiccCalls: Int
    public var distinctNumbersCalled: Int
    /// Steady scenarios: record timestamp → received by a bare consumer of
    /// the requests topic with the worker's `fetch.*` settings, milliseconds —
    /// the load producer's and the mock broker's share of ``latency``, which
    /// no worker can go below.
    public var floorLatency: Percentiles? = nil
    /// The workers' mean AICC call, milliseconds, from their own metrics
    /// (sending a call to its answer): the simulator's latency plus what the
    /// HTTP exchange and a loaded machine add.
    public var aiccCallMean: Double? = nil

    /// In the queued scenarios, how often a call slot turns over (all
    /// workers' slots / requests per second), milliseconds: the mean AICC
    /// call plus the time a slot spends outside a call — held (claim,
    /// outcome, hand-offs) or standing empty; the figure cannot tell the two
    /// apart.
    public var slotTurnover: Double? {
        guard self.scenario.arrival == .queued, self.requestsPerSecond > 0 else { return nil }
        return Double(self.scenario.maxConcurrency * self.scenario.workers) / self.requestsPerSecond * 1000
    }

    /// Every request reached AICC exactly once, each to its own number.
    public var eachNumberCalledOnce: Bool {
        self.aiccCalls == self.scenario.requests && self.distinctNumbersCalled == self.scenario.requests
    }

    /// Sustained requests/s inside the window.
    public var requestsPerSecond: Double { Double(self.windowRequests) / max(self.window.seconds, 1e-9) }
    /// Worker CPU-seconds per 1,000 requests.
    public var workerCPUPerThousand: Double { self.workerCPUSeconds / Double(max(self.windowRequests, 1)) * 1000 }
    /// PostgreSQL CPU-seconds per 1,000 requests.
    public var postgresCPUPerThousand: Double? { self.postgresCPUSeconds.map { $0 / Double(max(self.windowRequests, 1)) * 1000 } }
}

/// What raw librdkafka does through the same mock cluster: `kcat` consuming
/// one topic and piping it into `kcat` producing another.
public struct CeilingResult: Sendable {
    public var records: Int
    public var elapsed: Duration
    /// CPU time of the two kcat processes.
    public var cpuSeconds: Double
    public var recordsPerSecond: Double { Double(self.records) / max(self.elapsed.seconds, 1e-9) }
    public var cpuPerThousand: Double { self.cpuSeconds / Double(max(self.records, 1)) * 1000 }
}

/// Latency percentiles, milliseconds.
public struct Percentiles: Sendable, Hashable {
    public var p50: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var count: Int

    /// Nearest-rank percentiles of `samples` (milliseconds).
    public init(_ samples: [Double]) {
        let sorted = samples.sorted()
        func rank(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            let index = Int((q * Double(sorted.count)).rounded(.up)) - 1
            return sorted[Swift.max(0, Swift.min(sorted.count - 1, index))]
        }
        self.p50 = rank(0.50)
        self.p99 = rank(0.99)
        self.p999 = rank(0.999)
        self.max = sorted.last ?? .nan
        self.count = sorted.count
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}
