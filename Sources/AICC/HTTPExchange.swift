import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Tracing

/// The answer to one HTTP exchange.
struct HTTPExchangeResponse: Sendable {
    var status: Int
    var body: ByteBuffer
}

/// Why an HTTP exchange produced no answer, and whether the request had left.
struct HTTPExchangeFailure: Error, Sendable {
    enum Reason: Sendable {
        case timedOut
        case cancelled
        case transport
    }

    var reason: Reason
    /// True once AsyncHTTPClient wrote the request head to a connection: from then
    /// on AICC may have received (and acted on) the request.
    var requestSent: Bool
    var underlying: String
}

/// Runs one request through AsyncHTTPClient's delegate API, which tells us the
/// moment the request head was written. That moment splits "certainly not sent"
/// (connect errors, time spent waiting for a connection) from "sent, no answer"
/// (in doubt), which the async `execute` API cannot tell apart on a deadline.
///
/// Inside a traced task (a request being dispatched) the exchange is a client
/// span of `tracer` (product §11), named and described by OpenTelemetry's HTTP
/// conventions: `POST /path`, `http.request.method`, `url.full` (no query),
/// `server.address`, `server.port`, `http.response.status_code`, `error.type`,
/// and `aicc.operation`. Headers and bodies (credentials, tokens, the called
/// number) never reach a span. Outside one (the probe) there is no span.
func performExchange(
    _ request: HTTPClient.Request,
    on client: HTTPClient,
    timeout: Duration,
    maxBodySize: Int,
    logger: Logger,
    tracer: any Tracer,
    operation: String
) async throws(HTTPExchangeFailure) -> HTTPExchangeResponse {
    guard let parent = InstrumentationContext.current else {
        return try await performExchange(request, on: client, timeout: timeout, maxBodySize: maxBodySize, logger: logger)
    }
    let path = request.url.path
    let span = tracer.startAnySpan("\(request.method.rawValue) \(path)", context: parent, ofKind: .client)
    defer { span.end() }
    // A span that records nothing (export off) gets no attributes: building
    // them was ~0.7 % of the worker's CPU for nothing (BENCHMARKS.md).
    let recording = span.isRecording
    if recording {
        span.updateAttributes { attributes in
            attributes["http.request.method"] = request.method.rawValue
            attributes["url.full"] = "\(request.scheme)://\(request.host):\(request.port)\(path)"
            attributes["url.template"] = path
            attributes["server.address"] = request.host
            attributes["server.port"] = request.port
            attributes["aicc.operation"] = operation
        }
    }
    do {
        let response = try await performExchange(request, on: client, timeout: timeout, maxBodySize: maxBodySize, logger: logger)
        if recording {
            span.attributes["http.response.status_code"] = response.status
            if response.status >= 400 {
                span.attributes["error.type"] = "\(response.status)"
                span.setStatus(SpanStatus(code: .error))
            }
        }
        return response
    } catch {
        if recording {
            span.attributes["error.type"] = error.reason.errorType
            span.attributes["aicc.request_sent"] = error.requestSent
            span.setStatus(SpanStatus(code: .error))
        }
        throw error
    }
}

extension HTTPExchangeFailure.Reason {
    /// `error.type` of a span.
    var errorType: String {
        switch self {
        case .timedOut: "timeout"
        case .cancelled: "cancelled"
        case .transport: "transport"
        }
    }
}

private func performExchange(
    _ request: HTTPClient.Request,
    on client: HTTPClient,
    timeout: Duration,
    maxBodySize: Int,
    logger: Logger
) async throws(HTTPExchangeFailure) -> HTTPExchangeResponse {
    let delegate = CollectingDelegate(maxBodySize: maxBodySize)
    let deadline = NIODeadline.now() + TimeAmount(timeout)
    let task = client.execute(request: request, delegate: delegate, deadline: deadline, logger: logger)
    do {
        return try await withTaskCancellationHandler {
            try await task.futureResult.get()
        } onCancel: {
            task.cancel()
        }
    } catch {
        let sent = delegate.requestSent
        let reason: HTTPExchangeFailure.Reason
        if Task.isCancelled {
            reason = .cancelled
        } else if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout {
            reason = .timedOut
        } else {
            reason = .transport
        }
        throw HTTPExchangeFailure(reason: reason, requestSent: sent, underlying: String(describing: error))
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Collects the response (bounded) and records whether the request head was sent.
private final class CollectingDelegate: HTTPClientResponseDelegate {
    typealias Response = HTTPExchangeResponse

    private struct State {
        var requestSent = false
        var status = 0
        var body = ByteBuffer()
    }

    struct BodyTooLarge: Error {}

    private let state = NIOLockedValueBox(State())
    private let maxBodySize: Int

    init(maxBodySize: Int) {
        self.maxBodySize = maxBodySize
    }

    var requestSent: Bool { self.state.withLockedValue { $0.requestSent } }

    func didSendRequestHead(task: HTTPClient.Task<Response>, _ head: HTTPRequestHead) {
        self.state.withLockedValue { $0.requestSent = true }
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        self.state.withLockedValue { $0.status = Int(head.status.code) }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let fits: Bool = self.state.withLockedValue { state in
            guard state.body.readableBytes + buffer.readableBytes <= self.maxBodySize else { return false }
            var buffer = buffer
            state.body.writeBuffer(&buffer)
            return true
        }
        return fits ? task.eventLoop.makeSucceededVoidFuture() : task.eventLoop.makeFailedFuture(BodyTooLarge())
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        self.state.withLockedValue { HTTPExchangeResponse(status: $0.status, body: $0.body) }
    }
}
