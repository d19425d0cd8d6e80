import AICCSimulator
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A raw HTTP exchange against the simulator, independent of the AICC client.
struct RawAnswer {
    var status: Int
    var json: [String: Any]?
    var retCode: String? { self.json?["retCode"] as? String }
}

enum RawHTTP {
    static func send(
        _ url: String,
        method: String = "POST",
        headers: [(String, String)] = [],
        body: String? = nil
    ) async throws -> RawAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let buffer = try await response.body.collect(upTo: 4 * 1024 * 1024)
        let json = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]
        return RawAnswer(status: Int(response.status.code), json: json)
    }

    static func json(_ object: [String: Any?]) -> String {
        let cleaned = object.mapValues { $0 ?? NSNull() }
        return String(decoding: try! JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Gets a token with the simulator's default credentials.
    static func token(_ base: String, appKey: String = "sim-app-key", appSecret: String = "sim-app-secret") async throws -> String {
        let answer = try await send(
            base + "/apigovernance/api/oauth/tokenByAkSk",
            headers: [("Content-Type", "application/json"), ("X-Token-Expire", "3600")],
            body: json(["app_key": appKey, "app_secret": appSecret])
        )
        guard answer.status == 200, let token = answer.json?["AccessToken"] as? String else {
            throw TestFailure("no token: \(answer.status)")
        }
        return token
    }

    /// A valid create call (optionally altered).
    static func create(_ base: String, token: String, body: [String: Any?] = [:]) async throws -> RawAnswer {
        var fields: [String: Any?] = ["called": "88880000", "voiceContent": "1133999~$Tom$~2225149"]
        for (key, value) in body { fields[key] = value }
        return try await send(
            base + "/apiaccess/rest/voiceNotification/v1/createVoiceNotification",
            headers: [("Content-Type", "application/json"), ("X-APP-Key", "sim-app-key"), ("Authorization", "Bearer \(token)")],
            body: json(fields)
        )
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

/// A quiet logger for tests (no global bootstrap).
let quietLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()
