import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Tracing

/// One `tokenByAkSk` exchange (aicc-api.md §1).
struct TokenFetcher: Sendable {
    let httpClient: HTTPClient
    /// Whose spans the token requests are (product §11).
    let tracer: any Tracer
    let url: String
    let appKey: String
    let appSecret: String
    let lifetime: Duration
    let refreshMargin: Duration
    let timeout: Duration
    let maxBodySize: Int

    private struct RequestBody: Encodable {
        var app_key: String
        var app_secret: String
    }

    private struct ResponseBody: Decodable {
        var AccessToken: String?
        var Expires: LenientString?
        var CreateTime: LenientString?
    }

    func fetch(logger: Logger) async throws(AICCError) -> AccessToken {
        let requestedSeconds = min(3600, max(1, Int(self.lifetime.components.seconds)))
        var request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: self.url, method: .POST)
            let body = try JSONEncoder().encode(RequestBody(app_key: self.appKey, app_secret: self.appSecret))
            request.body = .byteBuffer(ByteBuffer(bytes: body))
        } catch {
            throw AICCError(code: .configurationInvalid, outcomeClass: .outage, delivery: .notSent, underlying: "token URL: \(error)")
        }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "X-Token-Expire", value: String(requestedSeconds))

        let sentAt = ContinuousClock.now
        logger.debug("AICC token request", metadata: ["aicc.tokenLifetime": "\(requestedSeconds)"])
        let response: HTTPExchangeResponse
        do {
            response = try await performExchange(
                request, on: self.httpClient, timeout: self.timeout, maxBodySize: self.maxBodySize, logger: logger,
                tracer: self.tracer, operation: "tokenByAkSk")
        } catch {
            // Whatever happened to a token request, no notification was sent.
            let code: AICCError.Code = error.reason == .cancelled ? .cancelled : (error.requestSent ? .authUnavailable : .connect)
            throw AICCError(code: code, outcomeClass: .transient, delivery: .notSent, underlying: error.underlying)
        }

        let answer = AICCAnswer(httpStatus: response.status)
        switch response.status {
        case 200..<300:
            break
        case 401, 403:
            logger.error("AICC tokenByAkSk refused the credentials", metadata: ["http.status": "\(response.status)"])
            throw AICCError(code: .authCredentials, outcomeClass: .outage, delivery: .notSent, answer: answer)
        default:
            throw AICCError(code: .authHTTPStatus(response.status), outcomeClass: .transient, delivery: .notSent, answer: answer)
        }

        guard let decoded = try? JSONDecoder().decode(ResponseBody.self, from: Data(response.body.readableBytesView)),
              let value = decoded.AccessToken, !value.isEmpty
        else {
            throw AICCError(code: .authResponseInvalid, outcomeClass: .transient, delivery: .notSent, answer: answer)
        }
        var granted = requestedSeconds
        if let expires = decoded.Expires?.value, let seconds = Int(expires), seconds > 0 {
            granted = min(granted, seconds)
        }
        let lifetime = Duration.seconds(granted)
        let margin = min(self.refreshMargin, lifetime / 5)
        let expiresAt = sentAt + lifetime
        logger.debug("AICC token received", metadata: ["aicc.tokenLifetime": "\(granted)"])
        return AccessToken(value: value, issuedAt: sentAt, expiresAt: expiresAt, refreshAt: expiresAt - margin)
    }
}

/// A JSON value that should be a string but may come as a number.
struct LenientString: Decodable, Sendable {
    var value: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            self.value = string
        } else if let int = try? container.decode(Int64.self) {
            self.value = String(int)
        } else {
            self.value = String(try container.decode(Double.self))
        }
    }
}
