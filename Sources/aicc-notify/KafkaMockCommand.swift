import ArgumentParser
import Foundation
import Kafka
import Logging
import ServiceLifecycle
import UnixSignals

/// `aicc-notify kafka-mock`: a standalone mock Kafka cluster on loopback.
struct KafkaMockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-mock",
        abstract: "Run a standalone mock Kafka cluster (librdkafka's) on loopback.",
        discussion: """
            Prints the bootstrap servers as the first line of stdout, then serves \
            until SIGTERM or SIGINT and exits 0. Clients in other processes connect \
            over TCP; consumer groups, commits and idempotent producers work. \
            Logs go to stderr.
            """
    )

    @Option(help: "Number of brokers (ids 1...N).")
    var brokers: Int = 1

    @Option(name: .customLong("topic"), help: ArgumentHelp("Create a topic: NAME:PARTITIONS (repeatable).", valueName: "name:partitions"))
    var topics: [TopicSpec] = []

    @Option(help: ArgumentHelp(
        "Let signals take this broker down and up: SIGUSR1 takes it down (its connections are closed and refused), SIGUSR2 brings it back.",
        valueName: "broker-id"))
    var signalBroker: Int32?

    @Option(help: "Log level on stderr.")
    var logLevel: LogLevelArgument = .info

    func validate() throws {
        guard (1...64).contains(self.brokers) else {
            throw ValidationError("--brokers must be between 1 and 64")
        }
        if let signalBroker, !(1...Int32(self.brokers)).contains(signalBroker) {
            throw ValidationError("--signal-broker must name a broker id in 1...\(self.brokers)")
        }
    }

    func run() async throws {
        self.logLevel.bootstrapStandardError()
        let logger = Logger(label: "aicc-notify.kafka-mock")
        let cluster = try KafkaMockCluster(brokers: self.brokers, logger: logger)
        for topic in self.topics {
            try cluster.createTopic(topic.name, partitions: topic.partitions)
        }
        print(cluster.bootstrapServers)
        fflush(nil)
        logger.info(
            "mock cluster serving",
            metadata: ["kafka.bootstrap": "\(cluster.bootstrapServers)", "kafka.topics": "\(self.topics.map(\.description))"]
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: cluster)]
        if let broker = self.signalBroker {
            services.append(.init(service: BrokerSignalControl(cluster: cluster, broker: broker, logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}

/// `NAME:PARTITIONS` on the command line.
struct TopicSpec: ExpressibleByArgument, CustomStringConvertible {
    var name: String
    var partitions: Int

    init?(argument: String) {
        guard let colon = argument.lastIndex(of: ":") else { return nil }
        let name = String(argument[..<colon])
        guard !name.isEmpty, let partitions = Int(argument[argument.index(after: colon)...]), (1...10_000).contains(partitions) else {
            return nil
        }
        self.name = name
        self.partitions = partitions
    }

    var description: String { "\(self.name):\(self.partitions)" }
}


/// Takes one broker of the mock cluster down on SIGUSR1 and up on SIGUSR2, so
/// that tests in another process can fail a broker mid-run.
struct BrokerSignalControl: Service {
    let cluster: KafkaMockCluster
    let broker: Int32
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigusr1, .sigusr2)
        await cancelWhenGracefulShutdown {
            for await signal in signals {
                do {
                    if signal == .sigusr1 {
                        try self.cluster.setBrokerDown(self.broker)
                        self.logger.notice("broker down", metadata: ["kafka.broker": "\(self.broker)"])
                    } else {
                        try self.cluster.setBrokerUp(self.broker)
                        self.logger.notice("broker up", metadata: ["kafka.broker": "\(self.broker)"])
                    }
                } catch {
                    self.logger.error("changing the broker failed", metadata: ["error.message": "\(error)"])
                }
            }
        }
    }
}
