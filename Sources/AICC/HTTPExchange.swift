import AsyncHTTPClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

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
func performExchange(
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
