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
            // Over every window [t_i, t_j] at least 2 s wide: calls ≤ burst + rate × width,
            // with three calls of slack. The limiter spaces departures; the simulator sees
            // arrivals, and a stall of a busy 2-core machine (other suites run in parallel
            // in this process) can deliver calls that left on time together — narrow
            // windows would measure the stall, not the limiter. Without the limiter all 16
            // calls arrive within a few milliseconds: this check fails, and so, by more
            // than 2 s, does the duration check below (a stall only ever slows calls down).
            var worst = -Double.infinity
            for i in times.indices {
                for j in i..<times.count where times[j] - times[i] >= 2 || j == times.count - 1 {
                    let count = Double(j - i + 1)
                    let allowed = Double(burst) + rate * max(2, times[j] - times[i]) + 3
                    worst = max(worst, count - allowed)
                }
            }
            #expect(worst <= 0, "a window exceeded the rate by \(worst) calls")
            // And over the whole run: the last call cannot start before (n − burst) / rate
            // after the first (2.8 s here; all at once without a limiter). A stall that
            // delays the first arrival shortens the measured span, hence 0.6 s of slack.
            #expect(times.last! - times.first! >= Double(times.count - burst) / rate - 0.6)
        }
    }
}
