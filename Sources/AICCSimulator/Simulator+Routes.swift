import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// HTTP answers of the simulator for requests AICC's documentation does not cover
/// precisely (aicc-api.md §2 lists 400 bad request, 401 unauthorized / token no
/// longer good, 403 authentication failed, 404 wrong path, 500 business failure):
///
/// | request | answer |
/// |---|---|
/// | `Content-Type` not JSON, body not a JSON object, body > 64 KiB | 400 |
/// | `X-APP-Key` missing or empty | 400 |
/// | `Authorization` missing, or not `Bearer <token>` (one space) | 400 |
/// | `X-APP-Key` not the configured app key | 403 |
/// | token valid but issued to another app key | 403 |
/// | token unknown, revoked or expired | 401 |
/// | token request: `X-Token-Expire` missing, not an integer, < 1 or > 3600 | 400 |
/// | token request: `app_key` / `app_secret` missing | 400 |
/// | token request: wrong app key or secret | 401 |
/// | any other path | 404 |
/// | outage window | 500 (or a dropped connection, per `outageAnswer`) |
extension AICCSimulator {
    static let tokenPath = "/apigovernance/api/oauth/tokenByAkSk"
    static let createPath = "/apiaccess/rest/voiceNotification/v1/createVoiceNotification"
    static let maxBodySize = 64 * 1024

    func buildRouter() -> Router<SimulatorRequestContext> {
        let router = Router(context: SimulatorRequestContext.self)
        router.post(RouterPath(Self.tokenPath)) { request, context in
            try await self.handleToken(request, context: context)
        }
        router.post(RouterPath(Self.createPath)) { request, context in
            try await self.handleCreate(request, context: context)
        }
        self.addControlRoutes(to: router)
        return router
    }

    // MARK: tokenByAkSk

    private func handleToken(_ request: Request, context: SimulatorRequestContext) async throws -> Response {
        var request = request
        let now = ContinuousClock.now
        let outage: OutageAnswer? = self.state.withLockedValue { state in
            state.stats.tokenRequests += 1
            guard state.configuration.outageScope == .all else { return nil }
            return state.isInOutage(now: now) ? state.configuration.outageAnswer : nil
        }
        if let outage { return self.outageResponse(outage, context: context) }

        guard isJSON(request.header("Content-Type")) else { return Self.error(400, "Content-Type must be application/json") }
        guard let expireText = request.header("X-Token-Expire"), let requested = Int(expireText), (1...3600).contains(requested) else {
            return Self.error(400, "X-Token-Expire must be an integer from 1 to 3600")
        }
        guard let object = try? await Self.readJSONObject(&request),
              let appKey = object["app_key"] as? String, let appSecret = object["app_secret"] as? String
        else { return Self.error(400, "body must be {\"app_key\": ..., \"app_secret\": ...}") }

        let answer: Response = self.state.withLockedValue { state in
            let configuration = state.configuration
            guard appKey == configuration.appKey, appSecret == configuration.appSecret else {
                return Self.error(401, "app_key or app_secret is wrong")
            }
            let lifetime = configuration.tokenLifetime ?? .seconds(requested)
            let seconds = max(1, Int(lifetime.components.seconds) + (lifetime.components.attoseconds > 0 ? 1 : 0))
            let token = state.hex(bytes: 16)
            state.tokens = state.tokens.filter { now < $0.value.expiresAt }
            state.tokens[token] = .init(appKey: appKey, expiresAt: now + lifetime)
            state.stats.tokensIssued += 1
            return JSONResponse.make(status: 200, json: [
                "AccessToken": token,
                "ApplyType": "Bearer",
                "CreateTime": String(Int(Date().timeIntervalSince1970)),
                "Expires": String(seconds),
                "Scope": "voiceNotification",
                "AppKey": appKey,
                "UserID": "sim-user",
            ])
        }
        return answer
    }

    // MARK: createVoiceNotification

    private enum CreateAnswer {
        case http(Int, String)
        case retCode(String)
        case accepted(String)
        case hang
        case drop
    }

    private func handleCreate(_ request: Request, context: SimulatorRequestContext) async throws -> Response {
        var request = request
        let arrivalTime = Date().timeIntervalSince1970
        let arrivalUptime = self.uptime
        let delay: Duration = self.state.withLockedValue { state in
            state.stats.inFlight += 1
            state.stats.maxConcurrencySeen = max(state.stats.maxConcurrencySeen, state.stats.inFlight)
            let configuration = state.configuration
            return configuration.latency + configuration.jitter * state.uniform()
        }
        defer { self.state.withLockedValue { $0.stats.inFlight -= 1 } }
        if delay > .zero { try? await Task.sleep(for: delay) }

        var record = RecordedCall(time: arrivalTime, uptime: arrivalUptime, callerPresent: false, answer: "")
        let body = try? await Self.readJSONObject(&request)
        var fields = CreateFields()
        if let body {
            fields = CreateValidation.check(body, configuration: self.configuration).fields
            record.called = fields.called
            record.callerPresent = fields.callerPresentGiven
            record.callerPresentValue = fields.callerPresent
            record.voiceContent = fields.voiceContent
            record.priority = fields.priority
            record.callBackUrl = fields.callBackUrl
        }

        let now = ContinuousClock.now
        let (answer, report): (CreateAnswer, PendingReport?) = self.state.withLockedValue { state in
            let answer = self.decideCreate(request: request, body: body, state: &state, now: now)
            var report: PendingReport?
            if case .accepted(let serial) = answer, let url = fields.callBackUrl {
                report = self.makeReport(serial: serial, fields: fields, url: url, state: &state)
            }
            switch answer {
            case .http(let status, _): record.answer = "http \(status)"; record.httpStatus = status
            case .retCode(let code): record.answer = "retCode \(code)"; record.httpStatus = 200; record.retCode = code
            case .accepted(let serial): record.answer = "accepted"; record.httpStatus = 200; record.retCode = "0"; record.callSerialNo = serial
            case .hang: record.answer = "hang"; record.httpStatus = 500
            case .drop: record.answer = "drop"
            }
            state.record(record)
            return (answer, report)
        }
        if let report { self.pusher.enqueue(report) }

        switch answer {
        case .http(let status, let message):
            return Self.error(status, message)
        case .retCode(let code):
            return JSONResponse.make(status: 200, json: ["retCode": code, "retMsg": Self.retMessage(code)])
        case .accepted(let serial):
            return JSONResponse.make(status: 200, json: ["retCode": "0", "retMsg": "Created successfully.", "result": ["callSerialNo": serial]])
        case .hang:
            let duration = self.configuration.hangDuration
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
            return Self.error(500, "hung")
        case .drop:
            return self.dropConnection(context: context)
        }
    }

    /// The decision for one create request, made under the state lock.
    private func decideCreate(request: Request, body: [String: Any]?, state: inout SimulatorState, now: ContinuousClock.Instant) -> CreateAnswer {
        let configuration = state.configuration
        if state.isInOutage(now: now) {
            return configuration.outageAnswer == .drop ? .drop : .http(500, "outage")
        }
        guard isJSON(request.header("Content-Type")) else { return .http(400, "Content-Type must be application/json") }
        guard let appKey = request.header("X-APP-Key"), !appKey.isEmpty else { return .http(400, "X-APP-Key is missing") }
        guard let authorization = request.header("Authorization"), authorization.hasPrefix("Bearer "),
              case let token = String(authorization.dropFirst("Bearer ".count)), !token.isEmpty, !token.contains(" ")
        else { return .http(400, "Authorization must be 'Bearer <token>'") }
        guard appKey == configuration.appKey else { return .http(403, "unknown app key") }
        guard let issued = state.tokens[token], now < issued.expiresAt else { return .http(401, "token unknown or expired") }
        guard issued.appKey == appKey else { return .http(403, "token belongs to another app") }
        guard let body else { return .http(400, "body must be a JSON object") }

        if let limit = configuration.maxConcurrentCalls, state.stats.inFlight > limit { return .retCode("1") }
        if let retCode = CreateValidation.check(body, configuration: configuration).retCode { return .retCode(retCode) }

        switch configuration.scriptedAnswer {
        case .retCode(let code) where code == "0": return .accepted(state.nextSerial())
        case .retCode(let code): return .retCode(code)
        case .httpStatus(let status): return .http(status, "scripted answer")
        case nil: break
        }
        let faults = configuration.faults
        var draw = state.uniform()
        for (rate, answer) in [(faults.http500, CreateAnswer.http(500, "injected fault")), (faults.retCode1, .retCode("1")),
                               (faults.retCode3, .retCode("3")), (faults.hang, .hang), (faults.drop, .drop)] {
            if draw < rate { return answer }
            draw -= rate
        }
        return .accepted(state.nextSerial())
    }

    // MARK: helpers

    func outageResponse(_ outage: OutageAnswer, context: SimulatorRequestContext) -> Response {
        switch outage {
        case .http500: Self.error(500, "outage")
        case .drop: self.dropConnection(context: context)
        }
    }

    /// Closes the connection without answering; the response returned goes nowhere.
    func dropConnection(context: SimulatorRequestContext) -> Response {
        context.channel.close(mode: .all, promise: nil)
        return JSONResponse.empty(status: 500)
    }

    static func error(_ status: Int, _ message: String) -> Response {
        JSONResponse.make(status: status, json: ["error": message])
    }

    static func readJSONObject(_ request: inout Request) async throws -> [String: Any]? {
        let buffer = try await request.collectBody(upTo: maxBodySize)
        return try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]
    }

    static func retMessage(_ code: String) -> String {
        switch code {
        case "1": "A task is in progress. Try again later."
        case "3": "Creation failed. No call SN is generated."
        case "5": "The value of caller or called is not transferred, or the format does not match the rule."
        case "7": "callerPresent or agentPresent fails to pass the verification."
        case "8": "The value of voiceContent is empty, exceeds the upper limit, or does not exist."
        case "9": "The value of callBackUrl does not meet the requirements."
        case "36": "The value of priority is in an incorrect format."
        default: "Failed."
        }
    }
}

private func isJSON(_ contentType: String?) -> Bool {
    guard let contentType else { return false }
    return contentType.lowercased().split(separator: ";").first?.trimmingCharacters(in: .whitespaces) == "application/json"
}
