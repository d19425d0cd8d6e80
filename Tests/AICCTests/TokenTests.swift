import AICC
import AICCSimulator
import Logging
import NIOConcurrencyHelpers
import Testing

@Suite struct TokenTests {
    @Test func oneTokenFetchServes500ConcurrentCalls() async throws {
        try await withClient(client: { $0.maxConcurrency = 64 }) { client, simulator in
            let serials = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        try await client.createVoiceNotification(
                            VoiceNotification(called: "8888\(1000 + index)", voiceContent: "$alert \(index)$"),
                            logger: quietLogger
                        ).callSerialNo
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(serials.count == 500)
            #expect(Set(serials).count == 500)
            let stats = simulator.stats
            #expect(stats.tokenRequests == 1)
            #expect(stats.accepted == 500)
        }
    }

    @Test func tokenExpiringMidRunIsRefreshedWithoutFailures() async throws {
        var simulatorConfiguration = AICCSimulator.Configuration()
        simulatorConfiguration.tokenLifetime = .seconds(2)
        try await withClient(simulator: simulatorConfiguration, client: {
            $0.callsPerSecond = 10
            $0.burst = 1
        }) { client, simulator in
            // 46 calls at 10 per second: spread over 4.5 s, across at least three tokens.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<46 {
                    group.addTask {
                        _ = try await client.createVoiceNotification(VoiceNotification(called: "88880000", voiceContent: "$n\(index)$"), logger: quietLogger)
                    }
                }
                try await group.waitForAll()
            }
            let calls = simulator.calls
            // Every call succeeded (none threw). The token is refreshed ahead of expiry, so
            // normally no call meets a 401; a request delayed past the refresh margin on a very
            // busy machine may, and is then saved by the refresh-and-retry path.
            #expect(calls.filter { $0.answer == "accepted" }.count == 46)
            #expect(calls.filter { $0.httpStatus == 401 }.count <= 2)
            #expect((calls.last?.uptime ?? 0) - (calls.first?.uptime ?? 0) > 4)
            #expect(simulator.stats.tokenRequests >= 3)
        }
    }

    @Test func a401RefreshesOnceAndRetriesOnce() async throws {
        try await withClient { client, simulator in
            _ = try await client.createVoiceNotification(sample, logger: quietLogger)
            simulator.revokeTokens()
            let accepted = try await client.createVoiceNotification(sample, logger: quietLogger)
            #expect(accepted.exchanges == 2)
            #expect(simulator.stats.tokenRequests == 2)
            #expect(simulator.calls.map(\.answer) == ["accepted", "http 401", "accepted"])
        }
    }

    @Test func concurrent401sShareOneRefresh() async throws {
        try await withClient { client, simulator in
            _ = try await client.createVoiceNotification(sample, logger: quietLogger)
            simulator.revokeTokens()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask { _ = try await client.createVoiceNotification(sample, logger: quietLogger) }
                }
                try await group.waitForAll()
            }
            // Tokens fetched: the first, then one refresh per token that was refused, which
            // collapse into one while it is in flight; a caller whose 401 arrives after the
            // refresh finished does not drop the newer token.
            #expect(simulator.stats.tokenRequests == 2)
        }
    }

    @Test func refusedCredentialsAreADistinctError() async throws {
        try await withClient(client: { $0.appSecret = "wrong-secret" }) { client, simulator in
            let error = try #require(await failure(of: client))
            #expect(error.code == .authCredentials)
            #expect(error.code.rawValue == "aicc.auth.credentials")
            #expect(error.outcomeClass == .outage)
            #expect(error.delivery == .notSent)
            #expect(error.isRetriable)
            #expect(simulator.stats.totalCalls == 0)
            await #expect(throws: AICCError.self) { try await client.prepareToken(logger: quietLogger) }
        }
    }

    @Test func tokenOutageIsTransientNotCredentials() async throws {
        try await withClient { client, simulator in
            simulator.outage(for: .seconds(60))
            let error = try #require(await failure(of: client))
            #expect(error.code.rawValue == "aicc.auth.http.500")
            #expect(error.outcomeClass == .transient)
            #expect(error.delivery == .notSent)
        }
    }

    @Test func credentialsAndTokensNeverLogged() async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "capture") { _ in CapturingLogHandler(lines: lines) }
        var simulatorConfiguration = AICCSimulator.Configuration()
        simulatorConfiguration.appSecret = "S3CRET-never-log-me"
        try await withClient(simulator: simulatorConfiguration, logger: logger) { client, simulator in
            _ = try await client.createVoiceNotification(sample, logger: logger)
            simulator.revokeTokens()
            _ = try await client.createVoiceNotification(sample, logger: logger)
            #expect("\(client.configuration)".contains("S3CRET") == false)
        }
        let captured = lines.withLockedValue { $0 }
        #expect(!captured.isEmpty, "trace logging was captured")
        #expect(captured.allSatisfy { !$0.contains("S3CRET") && !$0.contains("Bearer") && !$0.contains("app_secret") })
    }
}
