import AICCSimulator
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@Suite struct FaultInjectionTests {
    /// Sends `count` valid calls, `parallel` at a time; returns the answers as labels.
    static func fire(_ base: String, token: String, count: Int, parallel: Int = 16) async throws -> [String] {
        try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<parallel {
                group.addTask {
                    var labels: [String] = []
                    for _ in stride(from: worker, to: count, by: parallel) {
                        let answer = try await RawHTTP.create(base, token: token)
                        labels.append(answer.status == 200 ? "retCode \(answer.retCode ?? "?")" : "http \(answer.status)")
                    }
                    return labels
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    @Test func http500RateIsHonoured() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.faults = .init(http500: 0.3)
        configuration.seed = 42
        try await AICCSimulator.withRunning(configuration: configuration, logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            let labels = try await Self.fire(base, token: token, count: 2000)
            let share = Double(labels.filter { $0 == "http 500" }.count) / 2000
            #expect(abs(share - 0.3) <= 0.05, "500 share \(share)")
            #expect(labels.filter { $0 == "retCode 0" }.count + labels.filter { $0 == "http 500" }.count == 2000)
            #expect(simulator.stats.totalCalls == 2000)
        }
    }

    @Test func mixedRatesAreHonoured() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.faults = .init(http500: 0.1, retCode1: 0.15, retCode3: 0.05)
        configuration.seed = 2024
        try await AICCSimulator.withRunning(configuration: configuration, logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            let labels = try await Self.fire(base, token: token, count: 2000)
            func share(_ label: String) -> Double { Double(labels.filter { $0 == label }.count) / 2000 }
            #expect(abs(share("http 500") - 0.10) <= 0.05)
            #expect(abs(share("retCode 1") - 0.15) <= 0.05)
            #expect(abs(share("retCode 3") - 0.05) <= 0.05)
            #expect(abs(share("retCode 0") - 0.70) <= 0.05)
            #expect(simulator.stats.accepted == labels.filter { $0 == "retCode 0" }.count)
        }
    }

    @Test func sameSeedSameSequence() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.faults = .init(http500: 0.5)
        configuration.seed = 99
        let first = try await AICCSimulator.withRunning(configuration: configuration, logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            return try await Self.fire(base, token: token, count: 50, parallel: 1)
        }
        let second = try await AICCSimulator.withRunning(configuration: configuration, logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            return try await Self.fire(base, token: token, count: 50, parallel: 1)
        }
        #expect(first == second)
        #expect(Set(first).count == 2)
    }

    @Test func droppedConnectionGetsNoAnswer() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.faults = .init(drop: 1)
        try await AICCSimulator.withRunning(configuration: configuration, logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            await #expect(throws: (any Error).self) {
                _ = try await RawHTTP.create(base, token: token)
            }
            #expect(simulator.calls.first?.answer == "drop")
        }
    }

    @Test func outageAnswers500ThenRecovers() async throws {
        try await AICCSimulator.withRunning(logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            simulator.outage(for: .seconds(60))
            #expect(try await RawHTTP.create(base, token: token).status == 500)
            let tokenAnswer = try await RawHTTP.send(
                base + "/apigovernance/api/oauth/tokenByAkSk",
                headers: [("Content-Type", "application/json"), ("X-Token-Expire", "60")],
                body: #"{"app_key":"sim-app-key","app_secret":"sim-app-secret"}"#
            )
            #expect(tokenAnswer.status == 500)
            simulator.endOutage()
            #expect(try await RawHTTP.create(base, token: token).retCode == "0")
        }
    }

    @Test func concurrencyLimitAnswersRetCode1() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.maxConcurrentCalls = 2
        configuration.latency = .milliseconds(300)
        try await AICCSimulator.withRunning(configuration: configuration, logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            let labels = try await Self.fire(base, token: token, count: 6, parallel: 6)
            #expect(labels.filter { $0 == "retCode 1" }.count >= 1)
            #expect(labels.filter { $0 == "retCode 0" }.count >= 1)
            #expect(simulator.stats.maxConcurrencySeen >= 3)
        }
    }

    @Test func serialNumbersAreUnique() async throws {
        try await AICCSimulator.withRunning(logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            _ = try await Self.fire(base, token: token, count: 300)
            let serials = simulator.calls.compactMap(\.callSerialNo)
            #expect(serials.count == 300)
            #expect(Set(serials).count == 300)
        }
    }

    @Test func controlEndpoints() async throws {
        try await AICCSimulator.withRunning(logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            _ = try await RawHTTP.create(base, token: token, body: ["callBackUrl": base64("http://127.0.0.1:9/x"), "priority": "2"])
            _ = try await RawHTTP.create(base, token: token, body: ["called": "x"])

            var request = HTTPClientRequest(url: base + "/_sim/calls")
            request.method = .GET
            let callsResponse = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
            let callsBody = try await callsResponse.body.collect(upTo: 1 << 20)
            let calls = try JSONDecoder().decode([RecordedCall].self, from: Data(callsBody.readableBytesView))
            #expect(calls.count == 2)
            #expect(calls[0].callBackUrl == "http://127.0.0.1:9/x")
            #expect(calls[0].priority == "2")
            #expect(calls[0].callerPresent == false)
            #expect(calls[0].answer == "accepted")
            #expect(calls[1].retCode == "5")

            request = HTTPClientRequest(url: base + "/_sim/stats")
            let statsResponse = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
            let stats = try JSONDecoder().decode(SimulatorStats.self, from: Data(try await statsResponse.body.collect(upTo: 1 << 20).readableBytesView))
            #expect(stats.totalCalls == 2 && stats.accepted == 1 && stats.tokenRequests == 1)
            #expect(stats.acceptedCalls(to: "88880000") == 1)

            let config = try await RawHTTP.send(base + "/_sim/config", headers: [("Content-Type", "application/json")], body: #"{"faults":{"http500":1,"retCode1":0,"retCode3":0,"hang":0,"drop":0}}"#)
            #expect(config.status == 204)
            #expect(try await RawHTTP.create(base, token: token).status == 500)
            let cleared = try await RawHTTP.send(base + "/_sim/config", body: #"{"faults":{"http500":0,"retCode1":0,"retCode3":0,"hang":0,"drop":0},"latencyMs":1}"#)
            #expect(cleared.status == 204)
            #expect(simulator.configuration.latency == .milliseconds(1))
            #expect(try await RawHTTP.create(base, token: token).retCode == "0")

            #expect(try await RawHTTP.send(base + "/_sim/reset").status == 200)
            #expect(simulator.calls.isEmpty)
            #expect(simulator.stats.totalCalls == 0)
        }
    }
}
