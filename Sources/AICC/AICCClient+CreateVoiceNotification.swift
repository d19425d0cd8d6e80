import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1

extension AICCClient {
    /// Asks AICC to place a voice notification call (`createVoiceNotification`).
    ///
    /// Waits for a concurrency slot and for the rate limiter, gets the cached token,
    /// and sends the flat JSON body. On HTTP 401 the token is dropped, a new one is
    /// fetched and the call is sent once more.
    ///
    /// - Returns: The call serial number and AICC's answer when `retCode` is `0`.
    /// - Throws: ``AICCError``: `aicc.retcode.N` and `aicc.http.N` classified per
    ///   aicc-api.md §2; `aicc.timeout` / `aicc.connection.lost` (in doubt);
    ///   `aicc.connect` (never sent); `aicc.auth.*`; `aicc.voicecontent.invalid`,
    ///   `aicc.request.invalid` (checked before sending); `aicc.cancelled`;
    ///   `aicc.presend.failed` when `willSend` threw (nothing was sent).
    /// - Parameter willSend: Runs once, right before the request first leaves
    ///   (after the concurrency slot, the rate slot and the token are in hand),
    ///   so a caller can durably note that a call may now be placed. If it
    ///   throws, nothing is sent. Default: none.
    public func createVoiceNotification(
        _ notification: VoiceNotification, logger: Logger, willSend: (@Sendable () async throws -> Void)? = nil
    ) async throws(AICCError) -> VoiceNotificationAccepted {
        let body = try Self.encodeBody(notification)
        do {
            try await self.concurrencyLimiter.acquire()
        } catch {
            throw AICCError(code: .cancelled, outcomeClass: .transient, delivery: .notSent)
        }
        defer { self.concurrencyLimiter.release() }

        var exchanges = 0
        var freshAfter: ContinuousClock.Instant?
        while true {
            // A token first (so that waiting for the first fetch does not bunch calls that the
            // rate limiter spaced out), then the rate slot, then the token again: a caller may
            // wait a while for its slot, and the token must still be good when the request
            // leaves (usually the cached one, returned at once).
            //
            // The one retry after a 401 does not queue for a rate slot again: the refused
            // request placed no call, and a retry that waited behind the queue could find
            // its fresh token gone too when tokens are short-lived.
            _ = try await self.currentToken(logger: logger, issuedAfter: freshAfter)
            if exchanges == 0 {
                do {
                    try await self.rateLimiter.acquire()
                } catch {
                    throw AICCError(code: .cancelled, outcomeClass: .transient, delivery: .notSent)
                }
            }
            let token = try await self.currentToken(logger: logger, issuedAfter: freshAfter)
            if exchanges == 0, let willSend {
                do {
                    try await willSend()
                } catch {
                    throw AICCError(code: .presendFailed, outcomeClass: .transient, delivery: .notSent, underlying: "\(error)")
                }
            }
            exchanges += 1
            let sentAt = ContinuousClock.now
            let response = try await self.sendCreate(body: body, token: token, logger: logger)
            if response.status == 401, exchanges == 1 {
                logger.debug("AICC answered 401; refreshing the token and retrying once")
                self.tokenProvider.invalidate(token)
                freshAfter = sentAt
                continue
            }
            return try Self.interpretCreate(response, exchanges: exchanges, logger: logger)
        }
    }

    private func sendCreate(body: ByteBuffer, token: AccessToken, logger: Logger) async throws(AICCError) -> HTTPExchangeResponse {
        var request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: self.createURL, method: .POST)
        } catch {
            throw AICCError(code: .configurationInvalid, outcomeClass: .outage, delivery: .notSent, underlying: "\(error)")
        }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "X-APP-Key", value: self.configuration.appKey)
        request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token.value)")
        request.body = .byteBuffer(body)
        do {
            return try await performExchange(
                request,
                on: self.httpClient,
                timeout: self.configuration.timeout,
                maxBodySize: self.configuration.maxResponseBodySize,
                logger: logger,
                tracer: self.tracer,
                operation: "createVoiceNotification"
            )
        } catch {
            let delivery: AICCError.Delivery = error.requestSent ? .inDoubt : .notSent
            let outcomeClass: AICCOutcomeClass = error.requestSent ? .inDoubt : .transient
            let code: AICCError.Code
            switch (error.reason, error.requestSent) {
            case (.cancelled, _): code = .cancelled
            case (_, false): code = .connect
            case (.timedOut, true): code = .timeout
            case (.transport, true): code = .connectionLost
            }
            logger.debug("AICC createVoiceNotification failed", metadata: ["error.code": "\(code)", "aicc.delivery": "\(delivery)"])
            throw AICCError(code: code, outcomeClass: outcomeClass, delivery: delivery, underlying: error.underlying)
        }
    }

    private struct CreateResponse: Decodable {
        struct Result: Decodable { var callSerialNo: LenientString? }
        var retCode: LenientString?
        var retMsg: String?
        var result: Result?
    }

    /// The flat JSON body of aicc-api.md §2, after the checks AICC would make.
    static func encodeBody(_ notification: VoiceNotification) throws(AICCError) -> ByteBuffer {
        do {
            try VoiceContent.validate(notification.voiceContent)
        } catch {
            throw AICCError(code: .voiceContentInvalid, outcomeClass: .permanent, delivery: .notSent, underlying: error.description)
        }
        guard !notification.called.isEmpty else {
            throw AICCError(code: .requestInvalid, outcomeClass: .permanent, delivery: .notSent, underlying: "called is empty")
        }
        if let priority = notification.priority, !(1...9).contains(priority) {
            throw AICCError(code: .requestInvalid, outcomeClass: .permanent, delivery: .notSent, underlying: "priority must be 1...9")
        }
        var callBackUrl: String?
        if let url = notification.callbackURL {
            guard CallbackURL.isAcceptable(url) else {
                throw AICCError(code: .requestInvalid, outcomeClass: .permanent, delivery: .notSent, underlying: "callback URL holds characters AICC refuses")
            }
            callBackUrl = Data(url.utf8).base64EncodedString()
        }
        let body = CreateBody(
            voiceContent: notification.voiceContent,
            callerPresent: notification.callerPresent,
            called: notification.called,
            callBackUrl: callBackUrl,
            priority: notification.priority.map(String.init)
        )
        return body.buffer
    }

    /// Maps an answer of `createVoiceNotification` to the accepted result or a classified error.
    static func interpretCreate(_ response: HTTPExchangeResponse, exchanges: Int, logger: Logger) throws(AICCError) -> VoiceNotificationAccepted {
        guard (200..<300).contains(response.status) else {
            let answer = AICCAnswer(httpStatus: response.status)
            logger.debug("AICC createVoiceNotification answered", metadata: ["http.status": "\(response.status)"])
            throw AICCError(
                code: .httpStatus(response.status),
                outcomeClass: AICCHTTPStatus.outcomeClass(for: response.status),
                delivery: .answered,
                answer: answer
            )
        }
        guard let decoded = try? JSONDecoder().decode(CreateResponse.self, from: Data(response.body.readableBytesView)),
              let retCode = decoded.retCode?.value
        else {
            // A 2xx we cannot read: AICC may well have created the call.
            throw AICCError(code: .responseInvalid, outcomeClass: .inDoubt, delivery: .inDoubt, answer: AICCAnswer(httpStatus: response.status))
        }
        let answer = AICCAnswer(httpStatus: response.status, retCode: retCode, retMsg: decoded.retMsg)
        logger.debug("AICC createVoiceNotification answered", metadata: ["http.status": "\(response.status)", "aicc.retCode": "\(retCode)"])
        let outcomeClass = AICCRetCode.outcomeClass(for: retCode)
        guard outcomeClass == .accepted else {
            throw AICCError(code: .retCode(retCode), outcomeClass: outcomeClass, delivery: .answered, answer: answer)
        }
        guard let serial = decoded.result?.callSerialNo?.value, !serial.isEmpty else {
            throw AICCError(code: .responseInvalid, outcomeClass: .inDoubt, delivery: .inDoubt, answer: answer)
        }
        return VoiceNotificationAccepted(callSerialNo: serial, answer: answer, exchanges: exchanges)
    }
}

/// AICC's rule for callback URLs (aicc-api.md §2).
public enum CallbackURL {
    /// True when `url` is an `http`/`https` URL made only of letters, digits and `-:./_#?&`.
    public static func isAcceptable(_ url: String) -> Bool {
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else { return false }
        return url.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || "-:./_#?&".unicodeScalars.contains(scalar)
        }
    }
}
