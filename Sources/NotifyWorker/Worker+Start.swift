public import Logging
import Kafka
import NotifyHTTP
import NotifyStore

/// Builds the worker like ``buildWorker(configuration:logger:)``, waiting for
/// a store that does not answer yet (a PostgreSQL server still starting, or
/// out): each failed try logs "waiting for the store" at info level with the
/// reason, and the next comes after 1 s, doubling to 30 s. Cancellation ends
/// the wait at once with `CancellationError` (the command line cancels it on
/// SIGTERM/SIGINT). Every other failure is thrown as is.
public func buildWorkerWaitingForStore(configuration: WorkerConfiguration, logger: Logger) async throws -> Worker {
    var delay: Duration = .seconds(1)
    while true {
        do {
            return try await withThrowingTaskGroup(of: Worker?.self) { group in
                group.addTask { try await buildWorker(configuration: configuration, logger: logger) }
                group.addTask {
                    // A store that takes long to answer (a server still
                    // starting) is said to be waited for, every 10 s.
                    try await Task.sleep(for: .seconds(2))
                    while true {
                        logger.info("waiting for the store", metadata: ["store.reason": "no answer yet"])
                        try await Task.sleep(for: .seconds(10))
                    }
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let worker = result { return worker }
                }
                throw CancellationError()
            }
        } catch let error as StoreError where error.isRetriable {
            try Task.checkCancellation()
            logger.info("waiting for the store", metadata: [
                LogKey.errorCode: "\(error.code)", LogKey.errorMessage: "\(error.message)", "store.retryIn": "\(delay)",
            ])
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }
}

/// Why a worker stopped with an error, for the one line the command line
/// prints (`aicc-notify: <code>: <message>`) and the `error.code` it logs.
public struct WorkerFailure: Sendable, CustomStringConvertible {
    /// The stable code: `http.listen`, `store.*`, `kafka.*`, `config.*`, or
    /// `worker.failed` for anything else.
    public var code: String
    /// What happened, without secrets.
    public var message: String

    public init(_ error: any Error) {
        switch error {
        case let error as HTTPEndpointError:
            (self.code, self.message) = (error.code, "cannot listen on \(error.address): \(error.cause)")
        case let error as StoreError:
            (self.code, self.message) = (error.code, error.message)
        case let error as KafkaError:
            (self.code, self.message) = (error.code, error.message)
        case let error as ConfigurationError:
            (self.code, self.message) = (error.code, error.description)
        default:
            (self.code, self.message) = ("worker.failed", "\(error)")
        }
    }

    public var description: String { "\(self.code): \(self.message)" }
}
