import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// A small HTTP server that records the JSON bodies posted to it.
final class CallbackReceiver: Sendable {
    private let bodies = NIOLockedValueBox<[[String: String]]>([])

    var received: [[String: String]] { self.bodies.withLockedValue { $0 } }

    /// Runs a receiver for the duration of `body`, passing its base URL.
    static func withRunning<T: Sendable>(_ body: (CallbackReceiver, String) async throws -> T) async throws -> T {
        let receiver = CallbackReceiver()
        let router = Router()
        router.post("/aicc/status/{id}") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 64 * 1024)
            if let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: String] {
                receiver.bodies.withLockedValue { $0.append(object) }
            }
            return Response(status: .ok)
        }
        let port = NIOLockedValueBox<Int?>(nil)
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                port.withLockedValue { $0 = channel.localAddress?.port }
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: quietLogger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: quietLogger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = portStream.makeAsyncIterator()
            guard let bound = await iterator.next() else { throw TestFailure("receiver did not start") }
            do {
                let result = try await body(receiver, "http://127.0.0.1:\(bound)")
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

    /// Waits (polling, bounded) until `count` bodies arrived.
    func waitFor(count: Int, within limit: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + limit
        while self.received.count < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
