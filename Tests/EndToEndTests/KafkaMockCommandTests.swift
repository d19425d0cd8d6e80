import Foundation
import Kafka
import Logging
import Testing

@Suite("aicc-notify kafka-mock as its own process", .timeLimit(.minutes(2)))
struct KafkaMockCommandTests {
    @Test("Prints its bootstrap servers first; kcat and the wrapper use it over TCP; SIGTERM exits 0")
    func standaloneCluster() async throws {
        let child = try ChildProcess(ProcessSupport.binary, ["kafka-mock", "--brokers", "3", "--topic", "alerts:4", "--topic", "other:1", "--log-level", "warning"])
        let bootstrap = try #require(child.firstLine())
        let servers = bootstrap.split(separator: ",")
        #expect(servers.count == 3)
        #expect(servers.allSatisfy { $0.hasPrefix("127.0.0.1:") || $0.hasPrefix("localhost:") })

        // A second client implementation sees three brokers and the topics.
        let kcat = try #require(ProcessSupport.which("kcat") ?? ProcessSupport.which("kafkacat"), "kcat is installed by .ci/run")
        let metadata = try ProcessSupport.run(kcat, ["-L", "-b", bootstrap, "-m", "10"])
        #expect(metadata.status == 0, "\(metadata.stderr)")
        #expect(metadata.stdout.contains(" 3 brokers:"))
        for id in 1...3 { #expect(metadata.stdout.contains("broker \(id) at ")) }
        #expect(metadata.stdout.contains("topic \"alerts\" with 4 partitions"))
        #expect(metadata.stdout.contains("topic \"other\" with 1 partitions"))

        // And our own producer gets an offset from it.
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: bootstrap), flushTimeout: .seconds(5)),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            let report = try await producer.send(KafkaProducerMessage(topic: "alerts", partition: 2, value: Array("hello".utf8)))
            #expect(report.partition == 2)
            #expect(report.offset == 0)
            producer.triggerGracefulShutdown()
            try await group.waitForAll()
        }

        child.signal(SIGTERM)
        #expect(child.waitForExit(timeout: 20) == 0)
    }

    @Test("A malformed --topic is a usage error (exit 2) naming the option")
    func badTopic() throws {
        let result = try ProcessSupport.run(ProcessSupport.binary, ["kafka-mock", "--topic", "no-partitions"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--topic"))
    }
}
