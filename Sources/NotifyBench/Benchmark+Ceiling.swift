import Foundation
import Kafka

extension Benchmark {
    /// Raw librdkafka through the same kind of mock cluster: `records`
    /// requests are queued on one topic, then `kcat -C … | kcat -P …` copies
    /// them (keys and values) to another; timed from the pipe's start to its
    /// exit (kcat -P flushes before it exits), CPU from this process's
    /// waited-for children.
    func measureCeiling(records: Int) async throws -> CeilingResult {
        guard let kcat = Self.which("kcat") else { throw BenchmarkError("kcat is not installed (apt-get install kcat)") }
        let cluster = try KafkaMockCluster(brokers: 1, logger: self.logger)
        defer { cluster.shutdown() }
        let input = "bench.ceiling.in"
        let output = "bench.ceiling.out"
        try cluster.createTopic(input, partitions: self.options.partitions)
        try cluster.createTopic(output, partitions: self.options.partitions)
        let servers = cluster.bootstrapServers
        try await self.produce((0..<records).map { BenchRequest($0) }, to: input, servers: servers, pacing: nil, sent: SendTimes())

        let script = "\(kcat) -C -b \(servers) -t \(input) -o beginning -e -q -K '\\t' | \(kcat) -P -b \(servers) -t \(output) -K '\\t'"
        let childrenBefore = resourceUsageSeconds(children: true)
        let started = ContinuousClock.now
        let status = try await Self.runShell(script)
        let elapsed = ContinuousClock.now - started
        let cpu = resourceUsageSeconds(children: true) - childrenBefore
        guard status == 0 else { throw BenchmarkError("the kcat pipe exited \(status)") }

        // Everything arrived (not timed).
        let counted = try await Self.runShell(
            "test $(\(kcat) -C -b \(servers) -t \(output) -o beginning -e -q -f '.\\n' | wc -l) -eq \(records)")
        guard counted == 0 else { throw BenchmarkError("the kcat pipe did not copy all \(records) records") }
        return CeilingResult(records: records, elapsed: elapsed, cpuSeconds: cpu)
    }

    static func runShell(_ script: String) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardInput = FileHandle.nullDevice
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        return process.terminationStatus
    }

    static func which(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
