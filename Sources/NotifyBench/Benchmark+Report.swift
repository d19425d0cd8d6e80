import Foundation

extension Benchmark.Report {
    /// The targets of issue #25 (a: CPU per request; b: 90 % of the concurrency
    /// limit; e: three workers' rate against one's).
    static let cpuTarget = 0.15
    static let concurrencyTarget = 0.9 * 512 / 0.2
    /// Scenario e: three workers on one PostgreSQL against one.
    static let fleetTarget = 2.7
    /// Scenario c: the added latency's p99, milliseconds.
    static let latencyTarget = 12.0

    /// The floor probe's figures for one scenario (``ScenarioResult/floorLatency``).
    static func floorLine(_ scenario: String, _ floor: Percentiles) -> String {
        String(
            format: "%@: floor (a bare consumer with the worker's fetch settings, record timestamp → fetched, %d records): p50 %.1f / p99 %.1f / p99.9 %.1f ms",
            scenario, floor.count, floor.p50, floor.p99, floor.p999)
    }

    /// The figures as a Markdown table, then the ceiling, the ratios and the targets.
    public var text: String {
        var lines = [
            "machine: \(self.machine)",
            "",
            "| scenario | requests | requests/s | added latency p50 / p99 / p99.9 (ms) | worker CPU-s per 1,000 | peak RSS (MiB) | private · file-backed (MiB) | drain (s) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for result in self.scenarios {
            lines.append(String(
                format: "| %@ %@ | %d | %.0f | %.1f / %.1f / %.1f | %.3f | %.1f | %.1f · %.1f | %.1f |",
                result.scenario.name.rawValue, result.scenario.title, result.scenario.requests, result.requestsPerSecond,
                result.latency.p50, result.latency.p99, result.latency.p999, result.workerCPUPerThousand,
                Double(result.peakRSSBytes) / 1_048_576, Double(result.peakAnonymousBytes) / 1_048_576,
                Double(result.fileBackedBytes) / 1_048_576, result.drain.seconds))
        }
        lines.append("")
        for result in self.scenarios {
            let calls = result.eachNumberCalledOnce
                ? "each number called once" : "CALLS DO NOT MATCH: \(result.aiccCalls) calls to \(result.distinctNumbersCalled) numbers"
            lines.append(String(
                format: "%@: %d requests in the window (%.1f s); harness (mock Kafka, simulator, load, reader) %.3f CPU-s per 1,000; %@",
                result.scenario.name.rawValue, result.windowRequests, result.window.seconds,
                result.harnessCPUSeconds / Double(max(result.windowRequests, 1)) * 1000, calls))
        }
        for result in self.scenarios where result.scenario.aiccLatency > .zero {
            guard let call = result.aiccCallMean else { continue }
            var line = String(
                format: "%@: the worker's AICC calls took %.1f ms on average (the simulator answers after %.0f ms)",
                result.scenario.name.rawValue, call, result.scenario.aiccLatency.seconds * 1000)
            if let turnover = result.slotTurnover {
                line += String(
                    format: "; %d call slots at %.0f requests/s turn over every %.1f ms, %.1f ms of it outside the call",
                    result.scenario.maxConcurrency * result.scenario.workers, result.requestsPerSecond, turnover, turnover - call)
            }
            lines.append(line)
        }
        for result in self.scenarios {
            guard let floor = result.floorLatency else { continue }
            lines.append(Self.floorLine(result.scenario.name.rawValue, floor))
        }
        for result in self.scenarios {
            guard let postgres = result.postgresCPUPerThousand else { continue }
            lines.append(String(
                format: "%@: %d worker%@ (CPU summed), PostgreSQL %.3f CPU-s per 1,000", result.scenario.name.rawValue,
                result.scenario.workers, result.scenario.workers == 1 ? "" : "s", postgres))
        }
        if let one = self.scenarios.first(where: { $0.scenario.name == .e1 }),
           let fleet = self.scenarios.first(where: { $0.scenario.name == .e }) {
            let ratio = fleet.requestsPerSecond / max(one.requestsPerSecond, 1e-9)
            lines.append(String(
                format: "target e: 3 workers ≥ %.1f× one worker's rate: %.0f / %.0f requests/s = %.2f× — %@", Self.fleetTarget,
                fleet.requestsPerSecond, one.requestsPerSecond, ratio, ratio >= Self.fleetTarget ? "met" : "NOT met"))
        }
        if let ceiling = self.ceiling {
            lines.append(String(
                format: "ceiling: kcat consume → kcat produce, %d records in %.2f s: %.0f records/s, %.3f CPU-s per 1,000",
                ceiling.records, ceiling.elapsed.seconds, ceiling.recordsPerSecond, ceiling.cpuPerThousand))
            if let a = self.scenarios.first(where: { $0.scenario.name == .a }) {
                lines.append(String(
                    format: "a: the worker's rate is %.1f %% of the ceiling; its CPU per request %.1f× kcat's",
                    a.requestsPerSecond / ceiling.recordsPerSecond * 100, a.workerCPUPerThousand / max(ceiling.cpuPerThousand, 1e-9)))
            }
        }
        if let a = self.scenarios.first(where: { $0.scenario.name == .a }) {
            lines.append(String(
                format: "target a: ≤ %.2f worker CPU-s per 1,000: %.3f — %@", Self.cpuTarget, a.workerCPUPerThousand,
                a.workerCPUPerThousand <= Self.cpuTarget ? "met" : "NOT met"))
        }
        if let b = self.scenarios.first(where: { $0.scenario.name == .b }) {
            lines.append(String(
                format: "target b: ≥ %.0f requests/s (90 %% of 512 / 0.2 s): %.0f — %@", Self.concurrencyTarget, b.requestsPerSecond,
                b.requestsPerSecond >= Self.concurrencyTarget ? "met" : "NOT met"))
        }
        if let c = self.scenarios.first(where: { $0.scenario.name == .c }) {
            let floor = c.floorLatency.map { String(format: " (its floor: p99 %.1f ms)", $0.p99) } ?? ""
            lines.append(String(
                format: "target c: added latency p99 ≤ %.0f ms: %.1f%@ — %@", Self.latencyTarget, c.latency.p99, floor,
                c.latency.p99 <= Self.latencyTarget ? "met" : "NOT met"))
        }
        return lines.joined(separator: "\n")
    }
}
