import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// A status report waiting to be posted.
struct PendingReport: Sendable {
    var url: String
    var body: [String: String]
    var delay: Duration
    var copies: Int
    var timeout: Duration
}

/// Posts release events to callback URLs. Owned by ``AICCSimulator/run()``: reports
/// arrive on an `AsyncStream` and each is delivered by a child task of a discarding
/// task group inside ``run()`` — no unstructured tasks.
final class CallbackPusher: Sendable {
    private let stream: AsyncStream<PendingReport>
    private let continuation: AsyncStream<PendingReport>.Continuation
    private let logger: Logger
    private let onResult: @Sendable (Bool) -> Void

    init(logger: Logger, onResult: @escaping @Sendable (Bool) -> Void) {
        (self.stream, self.continuation) = AsyncStream.makeStream(of: PendingReport.self)
        self.logger = logger
        self.onResult = onResult
    }

    func enqueue(_ report: PendingReport) {
        self.continuation.yield(report)
    }

    func run() async {
        // Graceful shutdown cancels the pusher: reports still waiting for their delay, or
        // being posted, are dropped (tests wait for the reports they expect first).
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await report in self.stream {
                    group.addTask { await self.deliver(report) }
                }
            }
        }
        self.continuation.finish()
    }

    private func deliver(_ report: PendingReport) async {
        if report.delay > .zero {
            do { try await Task.sleep(for: report.delay) } catch { return }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let body = try? encoder.encode(report.body) else { return }
        for copy in 0..<report.copies {
            var request = HTTPClientRequest(url: report.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: TimeAmount.nanoseconds(Int64(report.timeout.components.seconds) * 1_000_000_000 + report.timeout.components.attoseconds / 1_000_000_000), logger: self.logger)
                _ = try? await response.body.collect(upTo: 64 * 1024)
                let ok = (200..<300).contains(Int(response.status.code))
                self.onResult(ok)
                self.logger.debug("status report posted", metadata: ["status": "\(response.status.code)", "copy": "\(copy)"])
            } catch {
                self.onResult(false)
                self.logger.debug("status report failed", metadata: ["error": "\(error)", "copy": "\(copy)"])
            }
        }
    }
}
