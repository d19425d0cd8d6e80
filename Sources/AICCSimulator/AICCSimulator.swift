import Foundation
import Hummingbird
public import Logging
import NIOConcurrencyHelpers
import NIOCore
public import ServiceLifecycle
import UnixSignals

/// A faithful stand-in for Huawei AICC's token and voice-notification endpoints
/// (aicc-api.md), with fault injection, call recording and status-report pushing.
///
/// A `Service`: run it in a `ServiceGroup` (or use ``withRunning(configuration:logger:_:)``
/// in tests). Its `run()` serves HTTP with Hummingbird and, in the same task group,
/// runs the pusher that posts release events to callback URLs.
///
/// Endpoints: `POST /apigovernance/api/oauth/tokenByAkSk`,
/// `POST /apiaccess/rest/voiceNotification/v1/createVoiceNotification`, and the
/// control endpoints `GET /_sim/calls`, `GET /_sim/stats`, `POST /_sim/reset`,
/// `POST /_sim/config`.
public final class AICCSimulator: Service, Sendable {
    enum Binding {
        case waiting([CheckedContinuation<Int, any Error>])
        case bound(Int)
        case stopped
    }

    let state: NIOLockedValueBox<SimulatorState>
    let binding = NIOLockedValueBox(Binding.waiting([]))
    let logger: Logger
    let host: String
    let requestedPort: Int
    let createdAt = ContinuousClock.now
    let pusher: CallbackPusher

    /// Creates a simulator; nothing listens until `run()`.
    public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "aicc-simulator")) {
        let state = NIOLockedValueBox(SimulatorState(configuration: configuration))
        self.state = state
        self.logger = logger
        self.host = configuration.host
        self.requestedPort = configuration.port
        self.pusher = CallbackPusher(logger: logger) { delivered in
            state.withLockedValue { state in
                if delivered { state.stats.callbacksDelivered += 1 } else { state.stats.callbacksFailed += 1 }
            }
        }
    }

    /// Serves until graceful shutdown (or cancellation).
    public func run() async throws {
        let application = Application(
            router: self.buildRouter(),
            configuration: .init(address: .hostname(self.host, port: self.requestedPort), serverName: nil),
            onServerRunning: { [self] channel in
                self.didBind(port: channel.localAddress?.port ?? self.requestedPort)
            },
            logger: self.logger
        )
        defer { self.didStop() }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await application.run() }
            group.addTask { await self.pusher.run() }
        }
    }

    /// The bound port, once the server listens (waits until then).
    /// - Throws: `CancellationError`-like ``SimulatorNotRunning`` when the server stopped or failed to start.
    public func port() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let result: Result<Int, any Error>? = self.binding.withLockedValue { binding in
                switch binding {
                case .bound(let port): return .success(port)
                case .stopped: return .failure(SimulatorNotRunning())
                case .waiting(var waiters):
                    waiters.append(continuation)
                    binding = .waiting(waiters)
                    return nil
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }

    /// `http://HOST:PORT`, once the server listens.
    public func baseURL() async throws -> String {
        let port = try await self.port()
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "http://\(host):\(port)"
    }

    /// The current configuration.
    public var configuration: Configuration {
        self.state.withLockedValue { $0.configuration }
    }

    /// Changes the configuration while running (`host` and `port` changes are ignored;
    /// a new `seed` reseeds the generator).
    public func configure(_ change: (inout Configuration) -> Void) {
        self.state.withLockedValue { state in
            let oldSeed = state.configuration.seed
            change(&state.configuration)
            if let seed = state.configuration.seed, seed != oldSeed {
                state.random = SeededGenerator(seed: seed)
            }
        }
    }

    /// Starts an outage: for `duration`, every request gets ``Configuration/outageAnswer``.
    public func outage(for duration: Duration) {
        self.state.withLockedValue { $0.outageUntil = ContinuousClock.now + duration }
    }

    /// Ends an outage early.
    public func endOutage() {
        self.state.withLockedValue { $0.outageUntil = nil }
    }

    /// Makes every issued token unknown: the next business call gets HTTP 401.
    public func revokeTokens() {
        self.state.withLockedValue { $0.tokens.removeAll() }
    }

    /// Every `createVoiceNotification` request received since start or ``reset()``, in arrival order.
    public var calls: [RecordedCall] {
        self.state.withLockedValue { $0.calls }.sorted { $0.uptime < $1.uptime }
    }

    /// The counters.
    public var stats: SimulatorStats {
        self.state.withLockedValue { $0.snapshotStats() }
    }

    /// Forgets recorded calls and counters (issued tokens stay valid) and ends any outage.
    public func reset() {
        self.state.withLockedValue { $0.reset() }
    }

    private func didBind(port: Int) {
        let waiters: [CheckedContinuation<Int, any Error>] = self.binding.withLockedValue { binding in
            guard case .waiting(let waiters) = binding else { return [] }
            binding = .bound(port)
            return waiters
        }
        self.logger.info("AICC simulator listening", metadata: ["host": "\(self.host)", "port": "\(port)"])
        for waiter in waiters { waiter.resume(returning: port) }
    }

    private func didStop() {
        let waiters: [CheckedContinuation<Int, any Error>] = self.binding.withLockedValue { binding in
            defer { binding = .stopped }
            guard case .waiting(let waiters) = binding else { return [] }
            return waiters
        }
        for waiter in waiters { waiter.resume(throwing: SimulatorNotRunning()) }
    }

    var uptime: Double {
        let elapsed = self.createdAt.duration(to: .now).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
    }
}

/// The simulator is not listening (it stopped, or failed to bind).
public struct SimulatorNotRunning: Error, Sendable {}

extension AICCSimulator {
    /// Runs a simulator for the duration of `body`: starts it in a `ServiceGroup`, waits
    /// until it listens, runs `body`, then shuts it down gracefully.
    public static func withRunning<Result: Sendable>(
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "aicc-simulator"),
        _ body: (AICCSimulator) async throws -> Result
    ) async throws -> Result {
        let simulator = AICCSimulator(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [simulator], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                _ = try await simulator.port()
                let result = try await body(simulator)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }
}

extension AICCSimulator {
    /// Serves standalone until SIGTERM or SIGINT, then shuts down gracefully (for
    /// `aicc-notify simulate-aicc`). `onListening` receives the base URL once bound.
    public func serveUntilSignalled(onListening: @Sendable (String) -> Void) async throws {
        let group = ServiceGroup(configuration: .init(services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: self.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            onListening(try await self.baseURL())
            try await tasks.waitForAll()
        }
    }
}
