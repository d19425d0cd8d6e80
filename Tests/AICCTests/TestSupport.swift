import AICC
import AICCSimulator
import Logging
import NIOConcurrencyHelpers

let quietLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

/// Runs an in-process simulator and a client pointed at it over loopback HTTP.
func withClient<T: Sendable>(
    simulator simulatorConfiguration: AICCSimulator.Configuration = .init(),
    logger: Logger = quietLogger,
    client change: (inout AICCClient.Configuration) -> Void = { _ in },
    _ body: (AICCClient, AICCSimulator) async throws -> T
) async throws -> T {
    try await AICCSimulator.withRunning(configuration: simulatorConfiguration, logger: quietLogger) { simulator in
        var configuration = AICCClient.Configuration(
            baseURL: try await simulator.baseURL(),
            appKey: simulatorConfiguration.appKey,
            appSecret: simulatorConfiguration.appSecret
        )
        configuration.callsPerSecond = 100_000
        configuration.burst = 100_000
        change(&configuration)
        let client = try AICCClient(configuration: configuration, backgroundLogger: logger)
        do {
            let result = try await body(client, simulator)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

let sample = VoiceNotification(called: "88880000", voiceContent: "1133999~$Tom$~2225149")

/// Calls `createVoiceNotification` and returns the error (or nil on success).
func failure(of client: AICCClient, _ notification: VoiceNotification = sample, logger: Logger = quietLogger) async -> AICCError? {
    do {
        _ = try await client.createVoiceNotification(notification, logger: logger)
        return nil
    } catch {
        return error
    }
}

/// A log handler that keeps every rendered message and metadata value.
struct CapturingLogHandler: LogHandler {
    let lines: NIOLockedValueBox<[String]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
        let error = event.error.map { " error=\($0)" } ?? ""
        self.lines.withLockedValue { $0.append("\(event.level) \(event.message) \(merged)\(error)") }
    }
}
