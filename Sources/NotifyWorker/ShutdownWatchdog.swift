import Dispatch
public import Logging
import NIOConcurrencyHelpers
public import ServiceLifecycle

/// The whole-process guard: once shutdown begins — a signal, or a part that
/// failed and cancelled the rest — the process ends within ``bound``, even
/// when some part never returns.
///
/// A `Service` placed *last* in the process's `ServiceGroup`, so that it is the
/// first to hear of a graceful shutdown (the group stops its services in
/// reverse order) and hears of a cancellation like every part. Either way it
/// arms a timer on a Dispatch queue — outside the Swift cooperative pool,
/// which a stuck part may be starving — and returns. If the group has not
/// finished when the timer fires, ``onExpiry`` runs (the command line writes
/// `aicc-notify: shutdown.timeout: …` and exits 1). A group that finishes in
/// time disarms it with ``disarm()``.
public final class ShutdownWatchdog: Service, Sendable, CustomStringConvertible {
    /// How long shutdown may take, from its first sign to the group's end.
    public let bound: Duration
    private let onExpiry: @Sendable () -> Void
    private let logger: Logger
    /// `armed`, `disarmed`.
    private let state = NIOLockedValueBox((armed: false, disarmed: false))

    /// - Parameters:
    ///   - bound: The longest a shutdown may take.
    ///   - onExpiry: What ends the process (must not return to a stuck group).
    public init(bound: Duration, logger: Logger, onExpiry: @escaping @Sendable () -> Void) {
        self.bound = bound
        self.logger = logger
        self.onExpiry = onExpiry
    }

    public func run() async throws {
        // Returns on graceful shutdown, throws on cancellation: arm in both cases.
        try? await gracefulShutdown()
        self.arm()
    }

    /// Starts the countdown (once).
    public func arm() {
        let first = self.state.withLockedValue { state in
            defer { state.armed = true }
            return !state.armed && !state.disarmed
        }
        guard first else { return }
        self.logger.debug("shutdown watchdog armed", metadata: ["shutdown.bound": "\(self.bound)"])
        let components = self.bound.components
        let nanoseconds = Int(components.seconds) * 1_000_000_000 + Int(components.attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [self] in
            guard !self.state.withLockedValue({ $0.disarmed }) else { return }
            self.onExpiry()
        }
    }

    /// The group finished: the timer, if armed, does nothing.
    public func disarm() {
        self.state.withLockedValue { $0.disarmed = true }
    }

    public var description: String { "ShutdownWatchdog(bound: \(self.bound))" }

}
