import Foundation
import Logging
import NIOConcurrencyHelpers
import NotifyWorker
import ServiceLifecycle
import Testing

/// The whole-process guard: no shutdown path waits unboundedly.
@Suite("Shutdown watchdog")
struct ShutdownWatchdogTests {
    /// A part that never returns by itself: it ignores graceful shutdown and
    /// cancellation alike (a thread blocked in a C call), until released.
    final class StuckPart: Service, @unchecked Sendable {
        let release = DispatchSemaphore(value: 0)
        func run() async throws {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread.detachNewThread {
                    self.release.wait()
                    continuation.resume()
                }
            }
        }
    }

    /// A part that stops when asked.
    struct PoliteService: Service {
        func run() async throws { try? await gracefulShutdown() }
    }

    @Test("A part that never returns: the watchdog fires within its bound after shutdown begins")
    func firesWhenAPartHangs() async throws {
        let fired = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let watchdog = ShutdownWatchdog(bound: .milliseconds(500), logger: logger) {
            fired.withLockedValue { $0 = ContinuousClock.now }
        }
        let stuck = StuckPart()
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: stuck), .init(service: watchdog)], logger: logger)
        configuration.maximumGracefulShutdownDuration = .milliseconds(200)
        let group = ServiceGroup(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try? await group.run() }
            try await Task.sleep(for: .milliseconds(100))
            #expect(fired.withLockedValue { $0 } == nil)
            let began = ContinuousClock.now
            await group.triggerGracefulShutdown()
            while fired.withLockedValue({ $0 }) == nil, ContinuousClock.now - began < .seconds(10) {
                try await Task.sleep(for: .milliseconds(20))
            }
            let at = try #require(fired.withLockedValue { $0 }, "the watchdog never fired")
            #expect(at - began >= .milliseconds(500))
            // Let the planted part go, so the test itself ends.
            stuck.release.signal()
            try await tasks.waitForAll()
        }
    }

    @Test("A group that stops in time disarms it: nothing fires")
    func silentWhenShutdownFinishes() async throws {
        let fired = NIOLockedValueBox(false)
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        // A bound that a loaded machine (tests in parallel on two cores)
        // still stops a polite group within: 300 ms was seen to pass.
        let watchdog = ShutdownWatchdog(bound: .seconds(2), logger: logger) { fired.withLockedValue { $0 = true } }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: PoliteService()), .init(service: watchdog)], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(50))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        watchdog.disarm()
        try await Task.sleep(for: .milliseconds(2500))
        #expect(fired.withLockedValue { $0 } == false)
    }
}
