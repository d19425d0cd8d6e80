import ArgumentParser
import Foundation
import Logging
import NotifyWorker
import ServiceLifecycle
import UnixSignals

/// `aicc-notify run`: the worker. Reads its configuration once (file plus
/// `AICC_NOTIFY_*` environment), exits 2 with a message naming the key when it
/// is invalid, then runs until SIGTERM or SIGINT and exits 0 after a graceful
/// shutdown.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the worker: consume notification requests, call AICC, publish results.",
        discussion: """
            Configuration: an optional file (--config, JSON or YAML) and AICC_NOTIFY_* environment \
            variables, which override it (README: Configuration). Invalid configuration exits 2 \
            naming the key. SIGTERM/SIGINT: stop fetching, finish in-flight work within \
            dispatch.drainTimeout, commit, leave the group, exit 0.
            """
    )

    @Option(help: "Configuration file (JSON, or YAML ending in .yaml/.yml).")
    var config: String?

    func run() async throws {
        let configuration: WorkerConfiguration
        do {
            configuration = try await WorkerConfiguration.load(configFile: self.config, environment: ProcessInfo.processInfo.environment)
        } catch {
            Self.fail("aicc-notify: \(error)")
        }
        Self.bootstrapLogging(configuration.log)
        let logger = Logger(label: "aicc-notify")
        let worker: Worker
        do {
            worker = try await buildWorker(configuration: configuration, logger: logger)
        } catch let error as ConfigurationError {
            Self.fail("aicc-notify: \(error)")
        }
        logger.info("worker starting", metadata: [
            "kafka.bootstrap": "\(configuration.kafka.bootstrapServers)", "kafka.group": "\(configuration.kafka.groupID)",
            "kafka.topic": "\(configuration.kafka.topics.requests)",
        ])
        let group = ServiceGroup(configuration: .init(
            services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("worker stopped")
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(2)
    }

    static func bootstrapLogging(_ log: WorkerConfiguration.Log) {
        let level = Logger.Level(rawValue: log.level.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            switch log.format {
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            case .text:
                var handler = TextLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
