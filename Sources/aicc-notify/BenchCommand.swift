import ArgumentParser
import Foundation
import NotifyWorker
import Logging
import NotifyBench

/// `aicc-notify bench`: the benchmark scenarios of BENCHMARKS.md.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the worker: throughput, added latency, CPU per 1,000 requests and peak memory.",
        discussion: """
            Runs `aicc-notify run` as its own process against an in-process mock Kafka cluster \
            and the AICC simulator, per scenario: (a) AICC answers instantly, (b) AICC takes \
            200 ms with 512 in flight, (c) a steady 100 requests/s for 60 s, (d) 50,000 queued, (e1) one \
            worker on PostgreSQL and (e) three on one PostgreSQL, AICC taking 200 ms, 64 in flight each, (f) a steady \
            50 requests/s, each with a status callback, 10 % transient AICC faults and 5 s tokens; \
            then raw librdkafka (kcat consume → kcat produce) through the same mock cluster as \
            the ceiling. Prints a table and the ratios (BENCHMARKS.md); exits 1 if some request did \
            not reach AICC exactly once. Build with -c release: a debug build's figures mean little.
            """
    )

    @Option(help: "Scenarios to run, comma-separated (a,b,c,d,e1,e,f).")
    var scenarios: String = "a,b,c,d,e1,e,f"

    @Flag(inversion: .prefixedNo, help: "Measure the kcat ceiling.")
    var ceiling = true

    @Option(help: "Multiply each scenario's request count (scenario c: its duration).")
    var scale: Double = 1

    @Option(help: "The worker's log level (its log goes to a file).")
    var workerLogLevel: String = "info"

    @Option(help: "Extra librdkafka properties for the worker, as AICC_NOTIFY_KAFKA_PROPERTIES (name=value,...).")
    var workerKafkaProperties: String?

    @Option(name: .customLong("worker-setting"), help: "A configuration key for the worker, KEY=VALUE (repeatable), e.g. dispatch.storm.window=300.")
    var workerSettings: [String] = []

    @Option(help: "Another worker program to measure instead of this one, started as `PATH run` with the same AICC_NOTIFY_* environment (e.g. Benchmarks/python-worker/worker.py).")
    var workerExecutable: String?

    @Option(help: "The SQLite store's synchronous level: full (the default, as in production) or normal.")
    var storeSynchronous: String = "full"

    @Option(help: "Leave parts out of scenario f to see what each costs, comma-separated: callbacks, faults, tokens.")
    var fWithout: String?

    @Option(help: "Keep stores and worker logs in this directory.")
    var keep: String?

    @Option(help: "Log level of the benchmark itself on stderr.")
    var logLevel: LogLevelArgument = .error

    func validate() throws {
        guard self.scale > 0 && self.scale <= 20 else { throw ValidationError("--scale must be in (0, 20]") }
        for name in self.scenarios.split(separator: ",") where Scenario.Name(rawValue: String(name)) == nil {
            throw ValidationError("unknown scenario '\(name)' (a, b, c, d, e1, e, f)")
        }
        for part in self.fWithout?.split(separator: ",") ?? [] where Scenario.Part(rawValue: String(part)) == nil {
            throw ValidationError("--f-without: unknown part '\(part)' (callbacks, faults, tokens)")
        }
        if let path = self.workerExecutable, !FileManager.default.isExecutableFile(atPath: path) {
            throw ValidationError("--worker-executable: \(path) is not an executable file")
        }
        guard ["full", "normal"].contains(self.storeSynchronous) else {
            throw ValidationError("--store-synchronous must be full or normal")
        }
        _ = try self.workerEnvironment()
    }

    /// `--worker-setting` as `AICC_NOTIFY_*` variables; an unknown key is a usage error.
    private func workerEnvironment() throws -> [String: String] {
        var environment: [String: String] = [:]
        for setting in self.workerSettings {
            guard let equals = setting.firstIndex(of: "=") else { throw ValidationError("--worker-setting must be KEY=VALUE: \(setting)") }
            let key = String(setting[..<equals])
            guard WorkerConfiguration.knownKeys.contains(key) else {
                throw ValidationError("--worker-setting: unknown key '\(key)'")
            }
            environment[WorkerConfiguration.environmentVariable(for: key)] = String(setting[setting.index(after: equals)...])
        }
        return environment
    }

    func run() async throws {
        self.logLevel.bootstrapStandardError()
        #if DEBUG
        FileHandle.standardError.write(Data("bench: this is a debug build; use `swift run -c release aicc-notify bench`\n".utf8))
        #endif
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var options = Benchmark.Options(executable: self.workerExecutable ?? executable)
        options.scenarios = self.scenarios.split(separator: ",").compactMap { Scenario.Name(rawValue: String($0)) }
        options.ceiling = self.ceiling
        options.scale = self.scale
        options.workerLogLevel = self.workerLogLevel
        options.keepDirectory = self.keep
        options.workerKafkaProperties = self.workerKafkaProperties
        options.workerEnvironment = try self.workerEnvironment()
        options.storeSynchronous = self.storeSynchronous
        options.fWithout = Set(self.fWithout?.split(separator: ",").compactMap { Scenario.Part(rawValue: String($0)) } ?? [])
        let benchmark = Benchmark(options: options, logger: Logger(label: "aicc-notify.bench"))
        let report = try await benchmark.run { line in
            FileHandle.standardError.write(Data(("bench: " + line + "\n").utf8))
        }
        print(report.text)
        // A figure is never a failure; a phone called twice (or not at all) is.
        if !report.scenarios.allSatisfy(\.eachNumberCalledOnce) { throw ExitCode(1) }
    }
}
