public import Foundation
import Hummingbird
public import Logging
import NIOConcurrencyHelpers
import NIOCore
public import ServiceLifecycle

/// A verified status report, handed to the worker.
public struct StatusReport: Sendable {
    /// The request whose callback URL received it.
    public var identity: CallbackIdentity
    /// The report's fields as AICC sent them (all strings).
    public var fields: [String: String]
    /// When the worker received it.
    public var receivedAt: Date

    public init(identity: CallbackIdentity, fields: [String: String], receivedAt: Date) {
        self.identity = identity
        self.fields = fields
        self.receivedAt = receivedAt
    }
}

/// What became of a report.
public enum ReportDisposition: Sendable, Hashable {
    /// Its call-status event is published and acknowledged by Kafka (or was
    /// already, for a duplicate): 200.
    case published
    /// No such request is remembered, or the report's call is another one: 404.
    case unknownRequest
    /// It could not be published now (Kafka or the store is out): 503, so
    /// that AICC's retry is useful.
    case unavailable
}

/// Turns verified reports into call-status events (the worker implements it).
public protocol StatusReportHandler: Sendable {
    func handle(_ report: StatusReport) async -> ReportDisposition
}

/// What `/readyz` reports: ready when there is no problem.
public struct Readiness: Sendable, Hashable {
    /// Why the worker is not ready (empty when it is).
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var isReady: Bool { self.problems.isEmpty }
}

/// The worker's one HTTP listener (product §5, §8): status callbacks,
/// `/healthz` (liveness: the process serves HTTP), `/readyz` (readiness, from
/// the worker) and `/metrics` (when given a renderer). A `Service`.
///
/// Callback route: `POST /aicc/callback/v1/{key}/{request}/{mac}`. The MAC
/// must verify (``CallbackURLSigner``), the report must be a JSON object of at
/// most ``Configuration/maxBodySize`` bytes with `callSerialNo` and `called`,
/// and, with a shared key, its own signature, timestamp and nonce must verify
/// (``ReportAuthenticator``). Refused reports get a 4xx and reach nothing; the
/// answer to an accepted one is what the handler says.
public final class HTTPEndpoint: Service, Sendable {
    /// Where and how to listen.
    public struct Configuration: Sendable {
        /// `http.listen` host. Default `0.0.0.0`.
        public var host: String
        /// `http.listen` port; 0 picks a free one. Default 8080.
        public var port: Int
        /// Largest report body accepted. Default 16 KiB.
        public var maxBodySize: Int

        public init(host: String = "0.0.0.0", port: Int = 8080, maxBodySize: Int = 16 * 1024) {
            self.host = host
            self.port = port
            self.maxBodySize = maxBodySize
        }
    }

    public let configuration: Configuration
    let signer: CallbackURLSigner?
    let authenticator: ReportAuthenticator?
    let handler: any StatusReportHandler
    let readiness: @Sendable () async -> Readiness
    let metrics: (@Sendable () -> String)?
    let logger: Logger
    private let listening = NIOLockedValueBox<ListenState>(.starting)

    /// Whether the listener is up yet.
    enum ListenState: Sendable {
        case starting
        case listening(port: Int)
        case failed(HTTPEndpointError)
    }

    /// - Parameters:
    ///   - signer: Verifies callback URLs; `nil` when callbacks are off (the
    ///     route then answers 404).
    ///   - authenticator: Checks the vendor signature; `nil` without a shared key.
    ///   - metrics: Renders Prometheus text for `/metrics`; `nil`: 404.
    public init(
        configuration: Configuration, signer: CallbackURLSigner?, authenticator: ReportAuthenticator?,
        handler: any StatusReportHandler, readiness: @escaping @Sendable () async -> Readiness,
        metrics: (@Sendable () -> String)? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.signer = signer
        self.authenticator = authenticator
        self.handler = handler
        self.readiness = readiness
        self.metrics = metrics
        self.logger = logger
    }

    /// The port it listens on, once it does (waits up to 10 s).
    ///
    /// - Throws: ``HTTPEndpointError`` (`http.listen`) when the listener could
    ///   not be opened or is not up within 10 s; `CancellationError`.
    public func port() async throws -> Int {
        try await self.waitUntilListening(timeout: .seconds(10))
    }

    /// Waits until the listener is up and returns its port, or throws the
    /// reason it could not be opened (port in use, an address that does not
    /// resolve or is not this host's) as soon as ``run()`` knows it. The
    /// worker starts consuming only after this returns, so a listener that
    /// cannot open touches no record.
    public func waitUntilListening(timeout: Duration? = nil) async throws -> Int {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            switch self.listening.withLockedValue({ $0 }) {
            case .listening(let port): return port
            case .failed(let error): throw error
            case .starting:
                if let deadline, ContinuousClock.now >= deadline {
                    throw HTTPEndpointError(address: self.address, cause: "not listening after \(timeout!)")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// `http.listen` as configured.
    var address: String {
        self.configuration.host.contains(":") ? "[\(self.configuration.host)]:\(self.configuration.port)"
            : "\(self.configuration.host):\(self.configuration.port)"
    }

    public func run() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.get("/healthz") { _, _ in Self.text(.ok, "ok\n") }
        router.get("/readyz") { _, _ in
            let readiness = await self.readiness()
            return readiness.isReady
                ? Self.text(.ok, "ready\n")
                : Self.text(.serviceUnavailable, "not ready: " + readiness.problems.joined(separator: "; ") + "\n")
        }
        router.get("/metrics") { _, _ in
            guard let metrics = self.metrics else { return Self.text(.notFound, "no metrics\n") }
            var response = Self.text(.ok, metrics())
            response.headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return response
        }
        let route = RouterPath(CallbackURLSigner.routePrefix + "/:key/:request/:mac")
        router.post(route) { request, context in
            await self.receive(request, context: context)
        }
        for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
            router.on(route, method: method) { _, _ in Self.text(.methodNotAllowed, "POST only\n") }
        }
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(self.configuration.host, port: self.configuration.port), serverName: nil),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? self.configuration.port
                self.listening.withLockedValue { $0 = .listening(port: port) }
                self.logger.info("HTTP listening", metadata: ["http.port": "\(port)"])
            },
            logger: self.logger
        )
        do {
            try await application.run()
        } catch {
            let listened: Bool = self.listening.withLockedValue { state in
                if case .listening = state { return true }
                return false
            }
            // Running, it ends by shutdown; failing before it listened, it
            // could not open the address: say which, and why.
            guard !listened, !(error is CancellationError) else { throw error }
            let failure = HTTPEndpointError(address: self.address, cause: Self.cause(of: error))
            self.listening.withLockedValue { $0 = .failed(failure) }
            throw failure
        }
    }

    /// What the system said, in words (`Address already in use (errno 98)`).
    static func cause(of error: any Error) -> String {
        if let error = error as? IOError {
            return "\(String(cString: strerror(error.errnoCode))) (errno \(error.errnoCode))"
        }
        if let error = error as? SocketAddressError, case .unknown(let host, _) = error {
            return "unknown host \(host) (not an address, and it does not resolve)"
        }
        return "\(error)"
    }

    private func receive(_ request: Request, context: BasicRequestContext) async -> Response {
        let receivedAt = Date()
        guard let signer = self.signer else { return Self.refuse(.notFound, "callback.disabled", "status callbacks are off") }
        guard let key = context.parameters.get("key"), let requestToken = context.parameters.get("request"),
              let mac = context.parameters.get("mac"),
              let identity = signer.verify(key: key, request: requestToken, mac: mac)
        else { return self.refused(.notFound, "callback.mac.invalid", "unknown callback URL") }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: self.configuration.maxBodySize)
        } catch {
            return self.refused(.contentTooLarge, "callback.body.too_large", "body over \(self.configuration.maxBodySize) bytes")
        }
        guard let fields = Self.fields(of: Data(body.readableBytesView)) else {
            return self.refused(.badRequest, "callback.body.invalid", "body must be a JSON object of strings")
        }
        guard let serial = fields["callSerialNo"], !serial.isEmpty, serial.count <= 50, fields["called"] != nil else {
            return self.refused(.badRequest, "callback.body.invalid", "callSerialNo (≤ 50) and called are required")
        }
        if let authenticator = self.authenticator, let refusal = authenticator.check(fields, now: receivedAt) {
            return self.refused(refusal == .replayed ? .conflict : .unauthorized, refusal.rawValue, "report refused")
        }
        switch await self.handler.handle(StatusReport(identity: identity, fields: fields, receivedAt: receivedAt)) {
        case .published:
            return Self.text(.ok, "{\"retCode\":\"0\"}")
        case .unknownRequest:
            return self.refused(.notFound, "callback.request.unknown", "no such request")
        case .unavailable:
            // AICC will send this same report again: let its nonce pass then.
            self.authenticator?.release(fields)
            return Self.text(.serviceUnavailable, "try again later\n")
        }
    }

    private func refused(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        self.logger.notice("status report refused", metadata: ["error.code": "\(code)", "http.status": "\(status.code)"])
        return Self.refuse(status, code, message)
    }

    private static func refuse(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        Self.text(status, "{\"error\":{\"code\":\"\(code)\",\"message\":\"\(message)\"}}")
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// The report's fields: a JSON object whose values are strings (numbers and
    /// booleans are taken as their text; AICC sends strings).
    static func fields(of data: Data) -> [String: String]? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        var fields: [String: String] = [:]
        for (name, value) in object {
            switch value {
            case let string as String: fields[name] = string
            case let number as NSNumber: fields[name] = number.stringValue
            case is NSNull: continue
            default: return nil
            }
        }
        return fields
    }
}

/// The endpoint is not listening (it stopped, or never bound).
/// The listener could not be opened: the address is in use, does not
/// resolve, or is not one of this host's. Not retriable: the configuration
/// (`http.listen`) or the host must change.
public struct HTTPEndpointError: Error, Sendable, CustomStringConvertible {
    /// Stable code: `http.listen`.
    public var code: String { "http.listen" }
    /// Never: retrying the same address fails the same way.
    public var isRetriable: Bool { false }
    /// The configured `HOST:PORT`.
    public var address: String
    /// What the system said.
    public var cause: String

    public init(address: String, cause: String) {
        self.address = address
        self.cause = cause
    }

    public var description: String { "http.listen: cannot listen on \(self.address): \(self.cause)" }
}
