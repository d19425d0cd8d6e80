import ArgumentParser
import Foundation
import Logging
import NotifyTracing
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
            Self.exit(2, "\(error.code): \(error)")
        }
        Self.bootstrapLogging(configuration.log)
        let logger = Logger(label: "aicc-notify")
        let worker: Worker
        switch await Self.buildUntilSignalled(configuration: configuration, logger: logger) {
        case .built(let built):
            worker = built
        case .signalled:
            logger.info("shutdown requested before the worker started; nothing was consumed")
            Self.exit(0, nil)
        case .failed(let error as ConfigurationError):
            Self.exit(2, "\(error.code): \(error)")
        case .failed(let error):
            Self.exit(1, WorkerFailure(error).description)
        }
        logger.info("worker starting", metadata: [
            "kafka.bootstrap": "\(configuration.kafka.bootstrapServers)", "kafka.group": "\(configuration.kafka.groupID)",
            "kafka.topic": "\(configuration.kafka.topics.requests)",
        ])
        // Shutdown is bounded twice: past the drain bound plus the producer's
        // flush, graceful shutdown escalates to cancellation; past that by
        // as much again, the watchdog ends the process.
        let drain: Duration = .seconds(configuration.dispatch.drainTimeout)
        let gracefulBound = drain + .seconds(configuration.kafka.deliveryTimeout) + .seconds(5)
        let watchdog = ShutdownWatchdog(bound: gracefulBound + .seconds(15), logger: logger) {
            Self.exit(1, "shutdown.timeout: the worker did not stop within \(gracefulBound + .seconds(15)); exiting")
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: worker), .init(service: watchdog)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = gracefulBound
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            logger.critical("worker failed", metadata: ["error.code": "\(WorkerFailure(error).code)"])
            Self.exit(1, WorkerFailure(error).description)
        }
        watchdog.disarm()
        logger.info("worker stopped")
    }

    private enum Start {
        case built(Worker)
        case signalled
        case failed(any Error)
    }

    /// Builds the worker — opening the store, which may have to wait for its
    /// server — while SIGTERM/SIGINT already end the process the documented
    /// way (exit 0: nothing was consumed) instead of the default signal action.
    private static func buildUntilSignalled(configuration: WorkerConfiguration, logger: Logger) async -> Start {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        return await withTaskGroup(of: Start.self) { group in
            group.addTask {
                do {
                    return .built(try await buildWorkerWaitingForStore(configuration: configuration, logger: logger))
                } catch {
                    return Task.isCancelled ? .signalled : .failed(error)
                }
            }
            group.addTask {
                for await _ in signals { return .signalled }
                return .signalled  // cancelled: the build finished first
            }
            let first = await group.next() ?? .signalled
            group.cancelAll()
            return first
        }
    }


    /// Writes `aicc-notify: <message>` (when given) to standard error and exits.
    static func exit(_ status: Int32, _ message: String?) -> Never {
        if let message { FileHandle.standardError.write(Data(("aicc-notify: " + message + "\n").utf8)) }
        Foundation.exit(status)
    }

    static func bootstrapLogging(_ log: WorkerConfiguration.Log) {
        let level = Logger.Level(rawValue: log.level.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            switch log.format {
            case .json:
                var handler = JSONLogHandler(label: label, metadataProvider: WorkerTracing.loggingMetadataProvider)
                handler.logLevel = level
                return handler
            case .text:
                var handler = TextLogHandler(label: label, metadataProvider: WorkerTracing.loggingMetadataProvider)
                handler.logLevel = level
                return handler
            }
        }
    }
}
