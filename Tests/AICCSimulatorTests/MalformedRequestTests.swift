import AICCSimulator
import Foundation
import Testing

/// Each malformed request gets the answer AICC documents (or the simulator's
/// documented choice, see `Simulator+Routes.swift`).
@Suite struct MalformedRequestTests {
    struct TokenCase: CustomTestStringConvertible, Sendable {
        var name: String
        var headers: [(String, String)]
        var body: String
        var status: Int
        var testDescription: String { self.name }
    }

    static let json = ("Content-Type", "application/json")
    static let goodBody = #"{"app_key":"sim-app-key","app_secret":"sim-app-secret"}"#

    static let tokenCases: [TokenCase] = [
        .init(name: "valid", headers: [json, ("X-Token-Expire", "3600")], body: goodBody, status: 200),
        .init(name: "no Content-Type", headers: [("X-Token-Expire", "3600")], body: goodBody, status: 400),
        .init(name: "no X-Token-Expire", headers: [json], body: goodBody, status: 400),
        .init(name: "X-Token-Expire 3601", headers: [json, ("X-Token-Expire", "3601")], body: goodBody, status: 400),
        .init(name: "X-Token-Expire 0", headers: [json, ("X-Token-Expire", "0")], body: goodBody, status: 400),
        .init(name: "X-Token-Expire not a number", headers: [json, ("X-Token-Expire", "soon")], body: goodBody, status: 400),
        .init(name: "body not JSON", headers: [json, ("X-Token-Expire", "60")], body: "app_key=x", status: 400),
        .init(name: "no app_secret", headers: [json, ("X-Token-Expire", "60")], body: #"{"app_key":"sim-app-key"}"#, status: 400),
        .init(name: "wrong secret", headers: [json, ("X-Token-Expire", "60")], body: #"{"app_key":"sim-app-key","app_secret":"nope"}"#, status: 401),
        .init(name: "wrong key", headers: [json, ("X-Token-Expire", "60")], body: #"{"app_key":"other","app_secret":"sim-app-secret"}"#, status: 401),
    ]

    @Test(arguments: tokenCases)
    func tokenRequest(_ testCase: TokenCase) async throws {
        try await AICCSimulator.withRunning(logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let answer = try await RawHTTP.send(base + "/apigovernance/api/oauth/tokenByAkSk", headers: testCase.headers, body: testCase.body)
            #expect(answer.status == testCase.status)
            if testCase.status == 200 {
                #expect(answer.json?["ApplyType"] as? String == "Bearer")
                #expect((answer.json?["AccessToken"] as? String)?.isEmpty == false)
                #expect(answer.json?["Expires"] as? String == "3600")
                #expect(Int(answer.json?["CreateTime"] as? String ?? "") != nil)
            }
            #expect(simulator.stats.tokenRequests == 1)
        }
    }

    enum Auth: Sendable { case valid, missing, raw(String), appKey(String?) }

    struct CreateCase: CustomTestStringConvertible, Sendable {
        var name: String
        var auth: Auth = .valid
        var contentType: String? = "application/json"
        var body: String
        var status: Int
        var retCode: String?
        var testDescription: String { self.name }
    }

    static func body(_ changes: [String: Any?] = [:], removing: [String] = []) -> String {
        var fields: [String: Any?] = ["called": "88880000", "voiceContent": "1133999~$Tom$~2225149"]
        for (key, value) in changes { fields[key] = .some(value) }
        for key in removing { fields.removeValue(forKey: key) }
        return RawHTTP.json(fields)
    }

    static let valid = body([:])

    static let createCases: [CreateCase] = [
        .init(name: "valid", body: valid, status: 200, retCode: "0"),
        .init(name: "valid with every field", body: body(["callerPresent": "13800138000", "callBackUrl": base64("http://127.0.0.1:9/aicc/x?k1&m-2#f"), "priority": "1"]), status: 200, retCode: "0"),
        .init(name: "callerPresent null", body: body(["callerPresent": nil]), status: 200, retCode: "0"),
        .init(name: "callerPresent access code", body: body(["callerPresent": "95555"]), status: 200, retCode: "0"),
        // headers
        .init(name: "no Content-Type", contentType: nil, body: valid, status: 400),
        .init(name: "no X-APP-Key", auth: .appKey(nil), body: valid, status: 400),
        .init(name: "unknown X-APP-Key", auth: .appKey("intruder"), body: valid, status: 403),
        .init(name: "no Authorization", auth: .missing, body: valid, status: 400),
        .init(name: "Authorization without Bearer", auth: .raw("Token abc"), body: valid, status: 400),
        .init(name: "Bearer with two spaces", auth: .raw("Bearer  abc"), body: valid, status: 400),
        .init(name: "lower-case bearer", auth: .raw("bearer abc"), body: valid, status: 400),
        .init(name: "unknown token", auth: .raw("Bearer 00000000000000000000000000000000"), body: valid, status: 401),
        // body
        .init(name: "body not JSON", body: "called=1", status: 400),
        .init(name: "body a JSON array", body: "[1,2]", status: 400),
        .init(name: "called missing", body: body(removing: ["called"]), status: 200, retCode: "5"),
        .init(name: "called not digits", body: body(["called": "call-me"]), status: 200, retCode: "5"),
        .init(name: "called a number", body: body(["called": 88880000]), status: 200, retCode: "5"),
        .init(name: "callerPresent too short", body: body(["callerPresent": "1234"]), status: 200, retCode: "7"),
        .init(name: "callerPresent 15 digits", body: body(["callerPresent": "123456789012345"]), status: 200, retCode: "7"),
        .init(name: "voiceContent missing", body: body(removing: ["voiceContent"]), status: 200, retCode: "8"),
        .init(name: "voiceContent empty", body: body(["voiceContent": ""]), status: 200, retCode: "8"),
        .init(name: "voiceContent 1001 characters", body: body(["voiceContent": "$" + String(repeating: "a", count: 999) + "$"]), status: 200, retCode: "8"),
        .init(name: "voiceContent unbalanced $", body: body(["voiceContent": "$Tom~1133"]), status: 200, retCode: "8"),
        .init(name: "voiceContent $ inside text", body: body(["voiceContent": "$To$m$"]), status: 200, retCode: "8"),
        .init(name: "voiceContent empty piece", body: body(["voiceContent": "1133~~2225"]), status: 200, retCode: "8"),
        .init(name: "voiceContent empty text", body: body(["voiceContent": "$$"]), status: 200, retCode: "8"),
        .init(name: "callBackUrl not Base64", body: body(["callBackUrl": "https://cb.example.com/x"]), status: 200, retCode: "9"),
        .init(name: "callBackUrl with a space", body: body(["callBackUrl": base64("https://cb.example.com/a b")]), status: 200, retCode: "9"),
        .init(name: "callBackUrl with = (not in -:./_#?&)", body: body(["callBackUrl": base64("https://cb.example.com/a?k=v")]), status: 200, retCode: "9"),
        .init(name: "callBackUrl with %", body: body(["callBackUrl": base64("https://cb.example.com/a%20b")]), status: 200, retCode: "9"),
        .init(name: "callBackUrl not http", body: body(["callBackUrl": base64("ftp://cb.example.com/x")]), status: 200, retCode: "9"),
        .init(name: "callBackUrl without host", body: body(["callBackUrl": base64("https:///x")]), status: 200, retCode: "9"),
        .init(name: "priority 0", body: body(["priority": "0"]), status: 200, retCode: "36"),
        .init(name: "priority 10", body: body(["priority": "10"]), status: 200, retCode: "36"),
        .init(name: "priority a number", body: body(["priority": 5]), status: 200, retCode: "36"),
        .init(name: "priority text", body: body(["priority": "high"]), status: 200, retCode: "36"),
    ]

    @Test(arguments: createCases)
    func createRequest(_ testCase: CreateCase) async throws {
        try await AICCSimulator.withRunning(logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            var headers: [(String, String)] = []
            if let contentType = testCase.contentType { headers.append(("Content-Type", contentType)) }
            switch testCase.auth {
            case .valid: headers += [("X-APP-Key", "sim-app-key"), ("Authorization", "Bearer \(token)")]
            case .missing: headers += [("X-APP-Key", "sim-app-key")]
            case .raw(let value): headers += [("X-APP-Key", "sim-app-key"), ("Authorization", value)]
            case .appKey(let key):
                if let key { headers.append(("X-APP-Key", key)) }
                headers.append(("Authorization", "Bearer \(token)"))
            }
            let answer = try await RawHTTP.send(base + "/apiaccess/rest/voiceNotification/v1/createVoiceNotification", headers: headers, body: testCase.body)
            #expect(answer.status == testCase.status)
            #expect(answer.retCode == testCase.retCode)
            if testCase.retCode == "0" {
                let result = answer.json?["result"] as? [String: Any]
                #expect((result?["callSerialNo"] as? String)?.isEmpty == false)
            } else {
                #expect(answer.json?["result"] == nil)
            }
            let calls = simulator.calls
            #expect(calls.count == 1)
            #expect(calls.first?.httpStatus == testCase.status)
            #expect(calls.first?.retCode == testCase.retCode)
        }
    }

    @Test func expiredTokenGets401() async throws {
        var configuration = AICCSimulator.Configuration()
        // Long enough that the first call lands inside it on a loaded 2-core
        // machine (other suites run in parallel), short enough to wait out.
        configuration.tokenLifetime = .seconds(2)
        try await AICCSimulator.withRunning(configuration: configuration, logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            #expect(try await RawHTTP.create(base, token: token).status == 200)
            try await Task.sleep(for: .milliseconds(2300))
            #expect(try await RawHTTP.create(base, token: token).status == 401)
        }
    }

    @Test func revokedTokenGets401() async throws {
        try await AICCSimulator.withRunning(logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            simulator.revokeTokens()
            #expect(try await RawHTTP.create(base, token: token).status == 401)
        }
    }

    @Test func tokenOfAnotherAppGets403() async throws {
        try await AICCSimulator.withRunning(logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            simulator.configure { $0.appKey = "second-app"; $0.appSecret = "second-secret" }
            let answer = try await RawHTTP.send(
                base + "/apiaccess/rest/voiceNotification/v1/createVoiceNotification",
                headers: [("Content-Type", "application/json"), ("X-APP-Key", "second-app"), ("Authorization", "Bearer \(token)")],
                body: Self.valid
            )
            #expect(answer.status == 403)
        }
    }

    @Test func unknownPathGets404() async throws {
        try await AICCSimulator.withRunning(logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let answer = try await RawHTTP.send(base + "/apiaccess/rest/voiceNotification/v2/createVoiceNotification", headers: [("Content-Type", "application/json")], body: Self.valid)
            #expect(answer.status == 404)
        }
    }

    @Test func unknownVoiceIDGets8() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.knownVoiceIDs = ["1133999"]
        try await AICCSimulator.withRunning(configuration: configuration, logger: quietLogger) { simulator in
            let base = try await simulator.baseURL()
            let token = try await RawHTTP.token(base)
            #expect(try await RawHTTP.create(base, token: token, body: ["voiceContent": "1133999~$Tom$"]).retCode == "0")
            #expect(try await RawHTTP.create(base, token: token, body: ["voiceContent": "1133999~$Tom$~2225149"]).retCode == "8")
        }
    }
}
