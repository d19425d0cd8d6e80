import ArgumentParser
import Foundation
import Kafka
import Logging
import NotifyCore
import NotifyWorker

/// `aicc-notify dlq …`: operations on the dead-letter topic.
struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Operate on the dead-letter topic.",
        subcommands: [ReplayCommand.self]
    )

    /// `aicc-notify dlq replay`
    struct ReplayCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay",
            abstract: "Copy dead-lettered records back to the input topic.",
            discussion: """
                Reads the dead-letter topic from its start to where it ends now and produces \
                the matching records to the input topic with their key, value and original \
                headers (the dlq.* headers dropped, replay.source added). Nothing is committed: \
                every replay looks at the whole topic; the worker's idempotency key makes a \
                record replayed twice one notification. Kafka settings default to the worker's \
                environment (AICC_NOTIFY_KAFKA_BOOTSTRAP_SERVERS, AICC_NOTIFY_KAFKA_PROPERTIES, \
                AICC_NOTIFY_KAFKA_TOPICS_*). Prints a summary; exit 0 on success, 2 on a usage \
                error, 1 when Kafka fails.
                """
        )

        @Option(help: "Brokers (default: $AICC_NOTIFY_KAFKA_BOOTSTRAP_SERVERS or localhost:9092).")
        var bootstrapServers: String?

        @Option(help: "Dead-letter topic (default: $AICC_NOTIFY_KAFKA_TOPICS_DEAD_LETTER or notification.requests.dlq).")
        var from: String?

        @Option(help: "Target topic (default: $AICC_NOTIFY_KAFKA_TOPICS_REQUESTS or notification.requests).")
        var to: String?

        @Option(name: .customLong("error-code"), help: "Replay only this dlq.error.code; a prefix ending in '.' matches a family (repeatable).")
        var errorCodes: [String] = []

        @Option(help: "Only records dead-lettered at or after this RFC 3339 time.")
        var since: String?

        @Option(help: "Only records dead-lettered before this RFC 3339 time.")
        var until: String?

        @Flag(help: "Count what would be replayed; produce nothing.")
        var dryRun = false

        @Option(help: "Seconds to reach the end of the topic before giving up.")
        var timeout: Double = 60

        @Option(help: "Log level on stderr.")
        var logLevel: LogLevelArgument = .warning

        func validate() throws {
            if let since, RFC3339.parse(since) == nil { throw ValidationError("--since must be an RFC 3339 time, e.g. 2026-11-25T10:00:00Z") }
            if let until, RFC3339.parse(until) == nil { throw ValidationError("--until must be an RFC 3339 time, e.g. 2026-11-25T12:00:00Z") }
            if self.timeout <= 0 { throw ValidationError("--timeout must be greater than 0") }
        }

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            var properties: [String: String] = [:]
            if let list = environment["AICC_NOTIFY_KAFKA_PROPERTIES"] {
                do {
                    for (name, value) in try WorkerConfiguration.parsePropertyList(list) { properties[name] = value }
                } catch {
                    throw ValidationError("AICC_NOTIFY_KAFKA_PROPERTIES: \(error)")
                }
            }
            let options = DeadLetterReplay.Options(
                client: KafkaClientConfiguration(
                    bootstrapServers: self.bootstrapServers ?? environment["AICC_NOTIFY_KAFKA_BOOTSTRAP_SERVERS"] ?? "localhost:9092",
                    clientID: "aicc-notify-dlq-replay",
                    properties: properties
                ),
                deadLetterTopic: self.from ?? environment["AICC_NOTIFY_KAFKA_TOPICS_DEAD_LETTER"] ?? "notification.requests.dlq",
                targetTopic: self.to ?? environment["AICC_NOTIFY_KAFKA_TOPICS_REQUESTS"] ?? "notification.requests",
                filter: DeadLetterReplay.Filter(
                    errorCodes: self.errorCodes,
                    since: self.since.flatMap(RFC3339.parse),
                    until: self.until.flatMap(RFC3339.parse)
                ),
                dryRun: self.dryRun,
                timeout: .milliseconds(Int64(self.timeout * 1000))
            )
            var logger = Logger(label: "aicc-notify.dlq-replay", factory: { StreamLogHandler.standardError(label: $0) })
            logger.logLevel = self.logLevel.level
            let summary: DeadLetterReplay.Summary
            do {
                summary = try await DeadLetterReplay.run(options, logger: logger)
            } catch let error as KafkaError {
                if error.code == "kafka.config.invalid" { throw ValidationError(error.message) }
                FileHandle.standardError.write(Data("aicc-notify: \(error.code): dlq replay: \(error.message)\n".utf8))
                throw ExitCode.failure
            }
            let verb = self.dryRun ? "would replay" : "replayed"
            print("\(verb) \(self.dryRun ? summary.matched : summary.replayed) of \(summary.scanned) dead-lettered records from \(options.deadLetterTopic) to \(options.targetTopic)")
            for (code, count) in summary.matchedByErrorCode.sorted(by: { $0.key < $1.key }) {
                print("  \(code): \(count)")
            }
        }
    }
}
