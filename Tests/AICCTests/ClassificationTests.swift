import AICC
import AICCSimulator
import Testing

@Suite struct ClassificationTests {
    static let retCodes: [(String, AICCOutcomeClass)] = [
        ("1", .transient), ("2", .permanent), ("3", .transient), ("4", .permanent), ("5", .permanent),
        ("6", .permanent), ("7", .permanent), ("8", .permanent), ("9", .permanent), ("16", .permanent),
        ("36", .permanent), ("77", .permanent),
    ]

    @Test(arguments: retCodes)
    func retCodeLandsInItsClass(retCode: String, expected: AICCOutcomeClass) async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.scriptedAnswer = .retCode(retCode)
        try await withClient(simulator: configuration) { client, _ in
            let error = try #require(await failure(of: client))
            #expect(error.code.rawValue == "aicc.retcode.\(retCode)")
            #expect(error.outcomeClass == expected)
            #expect(error.isRetriable == (expected == .transient))
            #expect(error.delivery == .answered)
            #expect(error.answer?.httpStatus == 200)
            #expect(error.answer?.retCode == retCode)
            #expect(error.answer?.retMsg?.isEmpty == false)
            #expect(!error.summary.isEmpty)
        }
    }

    @Test func retCode0IsAccepted() async throws {
        try await withClient { client, _ in
            let accepted = try await client.createVoiceNotification(sample, logger: quietLogger)
            #expect(accepted.answer == AICCAnswer(httpStatus: 200, retCode: "0", retMsg: "Created successfully."))
            #expect(!accepted.callSerialNo.isEmpty)
            #expect(accepted.exchanges == 1)
        }
    }

    static let statuses: [(Int, AICCOutcomeClass)] = [
        (400, .permanent), (403, .permanent), (404, .permanent), (500, .transient), (502, .transient),
        (503, .transient), (429, .transient), (401, .transient),
    ]

    @Test(arguments: statuses)
    func httpStatusLandsInItsClass(status: Int, expected: AICCOutcomeClass) async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.scriptedAnswer = .httpStatus(status)
        try await withClient(simulator: configuration) { client, simulator in
            let error = try #require(await failure(of: client))
            #expect(error.code.rawValue == "aicc.http.\(status)")
            #expect(error.outcomeClass == expected)
            #expect(error.delivery == .answered)
            #expect(error.answer?.httpStatus == status)
            // A 401 is retried once after a fresh token; anything else is not retried.
            #expect(simulator.stats.totalCalls == (status == 401 ? 2 : 1))
            #expect(simulator.stats.tokenRequests == (status == 401 ? 2 : 1))
        }
    }

    @Test func hangBecomesAnInDoubtTimeout() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.faults = .init(hang: 1)
        configuration.hangDuration = .seconds(6)
        // The timeout also bounds the token fetch that precedes the call: 2 s
        // keeps that fetch safe on a loaded 2-core CI machine (other suites run
        // in parallel), while the hung call still times out.
        try await withClient(simulator: configuration, client: { $0.timeout = .seconds(2) }) { client, simulator in
            let error = try #require(await failure(of: client))
            #expect(error.code == .timeout)
            #expect(error.code.rawValue == "aicc.timeout")
            #expect(error.delivery == .inDoubt)
            #expect(error.outcomeClass == .inDoubt)
            #expect(error.isInDoubt)
            #expect(!error.isRetriable)
            #expect(simulator.calls.map(\.answer) == ["hang"])
            simulator.configure { $0.faults = .init() }
        }
    }

    @Test func droppedConnectionIsInDoubt() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.faults = .init(drop: 1)
        try await withClient(simulator: configuration) { client, simulator in
            let error = try #require(await failure(of: client))
            #expect(error.code == .connectionLost)
            #expect(error.delivery == .inDoubt)
            #expect(error.outcomeClass == .inDoubt)
            #expect(simulator.calls.map(\.answer) == ["drop"])
        }
    }

    @Test func closedPortIsAConnectErrorNeverSent() async throws {
        // A port that was just listening and is now closed.
        let port = try await AICCSimulator.withRunning(logger: quietLogger) { try await $0.port() }
        var configuration = AICCClient.Configuration(baseURL: "http://127.0.0.1:\(port)", appKey: "k", appSecret: "s")
        configuration.timeout = .seconds(2)
        let client = try AICCClient(configuration: configuration, backgroundLogger: quietLogger)
        let error = await failure(of: client)
        try await client.shutdown()
        let unwrapped = try #require(error)
        #expect(unwrapped.code == .connect)
        #expect(unwrapped.delivery == .notSent)
        #expect(unwrapped.outcomeClass == .transient)
        #expect(unwrapped.isRetriable)
        #expect(unwrapped.code != .timeout)
    }

    @Test func invalidRequestsAreRefusedBeforeSending() async throws {
        try await withClient { client, simulator in
            let tooLong = VoiceNotification(called: "88880000", voiceContent: "$" + String(repeating: "a", count: 999) + "$")
            #expect(await failure(of: client, tooLong)?.code == .voiceContentInvalid)
            let badPriority = VoiceNotification(called: "88880000", voiceContent: "$a$", priority: 0)
            #expect(await failure(of: client, badPriority)?.code == .requestInvalid)
            let badURL = VoiceNotification(called: "88880000", voiceContent: "$a$", callbackURL: "https://x.example.com/a b")
            let error = await failure(of: client, badURL)
            #expect(error?.code == .requestInvalid)
            #expect(error?.delivery == .notSent)
            #expect(error?.outcomeClass == .permanent)
            #expect(simulator.stats.totalCalls == 0)
        }
    }

    @Test func bodyCarriesBase64CallbackAndStringPriority() async throws {
        try await withClient { client, simulator in
            let notification = VoiceNotification(
                called: "88880000",
                callerPresent: "95555",
                voiceContent: "1133999~$Tom$",
                callbackURL: "http://127.0.0.1:9/aicc/status/r1?m_x-y&k1#z",
                priority: 3
            )
            _ = try await client.createVoiceNotification(notification, logger: quietLogger)
            let call = try #require(simulator.calls.first)
            #expect(call.callBackUrl == "http://127.0.0.1:9/aicc/status/r1?m_x-y&k1#z")
            #expect(call.priority == "3")
            #expect(call.callerPresentValue == "95555")
            #expect(call.voiceContent == "1133999~$Tom$")
        }
    }

    @Test func pureTables() {
        for code in AICCRetCode.documented {
            let expected: AICCOutcomeClass = code == "0" ? .accepted : (code == "1" || code == "3" ? .transient : .permanent)
            #expect(AICCRetCode.outcomeClass(for: code) == expected)
        }
        #expect(AICCError.Code.retCode("8; drop table").rawValue == "aicc.retcode.8droptable")
        #expect(AICCError.Code.retCode("").rawValue == "aicc.retcode.unknown")
    }
}

@Suite struct CancellationTests {
    @Test func cancellingASentCallSaysInDoubt() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.faults = .init(hang: 1)
        configuration.hangDuration = .seconds(3)
        try await withClient(simulator: configuration) { client, simulator in
            let call = Task { await failure(of: client) }
            // Wait until the simulator holds the request, then cancel the caller.
            let deadline = ContinuousClock.now + .seconds(5)
            while simulator.calls.isEmpty, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            call.cancel()
            let error = try #require(await call.value)
            #expect(error.code == .cancelled)
            #expect(error.delivery == .inDoubt)
            #expect(error.outcomeClass == .inDoubt)
        }
    }

    @Test func concurrentCallersShareOneRefusedTokenFetch() async throws {
        try await withClient(client: { $0.appSecret = "wrong" }) { client, simulator in
            let errors = await withTaskGroup(of: AICCError?.self) { group in
                for _ in 0..<10 { group.addTask { await failure(of: client) } }
                return await group.reduce(into: [AICCError?]()) { $0.append($1) }
            }
            #expect(errors.allSatisfy { $0?.code == .authCredentials })
            #expect(simulator.stats.tokenRequests < 10, "waiters shared the leader's failed fetch")
            #expect(simulator.stats.totalCalls == 0)
        }
    }

    @Test func summaryHoldsNoVendorText() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.scriptedAnswer = .retCode("8")
        try await withClient(simulator: configuration) { client, _ in
            let error = try #require(await failure(of: client))
            #expect(error.summary == "voiceContent empty, too long or unknown id")
            #expect(error.answer?.retMsg?.contains("voiceContent") == true)
            #expect("\(error)".contains("aicc.retcode.8"))
        }
    }
}
