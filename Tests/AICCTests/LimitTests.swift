import AICC
import AICCSimulator
import Testing

@Suite struct LimitTests {
    @Test func concurrencyBoundHolds() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.latency = .milliseconds(50)
        try await withClient(simulator: configuration, client: { $0.maxConcurrency = 4 }) { client, simulator in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<40 {
                    group.addTask { _ = try await client.createVoiceNotification(sample, logger: quietLogger) }
                }
                try await group.waitForAll()
            }
            let stats = simulator.stats
            #expect(stats.accepted == 40)
            #expect(stats.maxConcurrencySeen <= 4)
            #expect(stats.maxConcurrencySeen >= 2, "the calls did overlap")
        }
    }

    @Test func rateBoundHolds() async throws {
        // A low rate, so that arrival jitter on a busy 2-core machine (other suites run in
        // parallel in the same process) stays well under one call interval.
        let rate = 5.0
        let burst = 2
        try await withClient(client: { $0.callsPerSecond = rate; $0.burst = burst }) { client, simulator in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask { _ = try await client.createVoiceNotification(sample, logger: quietLogger) }
                }
                try await group.waitForAll()
            }
            let times = simulator.calls.map(\.uptime).sorted()
            #expect(times.count == 16)
            // Over every window [t_i, t_j]: calls ≤ burst + rate × (t_j − t_i), with two calls of
            // slack: the limiter spaces departures, the simulator sees arrivals, and a busy
            // machine delays some requests more than others. Without the limiter all 16
            // calls arrive within a few milliseconds and the check fails by ~12 calls.
            var worst = 0.0
            for i in times.indices {
                for j in i..<times.count {
                    let count = Double(j - i + 1)
                    let allowed = Double(burst) + rate * (times[j] - times[i]) + 2
                    worst = max(worst, count - allowed)
                }
            }
            #expect(worst <= 0, "a window exceeded the rate by \(worst) calls")
            // And over the whole run: the last call cannot start before (n − burst) / rate.
            #expect(times.last! - times.first! >= Double(times.count - burst) / rate - 0.3)
        }
    }
}
