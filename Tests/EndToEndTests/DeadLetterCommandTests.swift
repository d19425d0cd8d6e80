import Foundation
import Kafka
import Logging
import Testing

@Suite("aicc-notify dlq replay as its own process", .timeLimit(.minutes(2)))
struct DeadLetterCommandTests {
    @Test("Replays against a mock cluster over TCP and prints a summary; bad times are usage errors")
    func replay() async throws {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        try cluster.createTopic("dlq", partitions: 1)
        try cluster.createTopic("requests", partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: .init(bootstrapServers: cluster.bootstrapServers), flushTimeout: .seconds(5)), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            for code in ["decode.json", "validation.called.format", "decode.json"] {
                _ = try await producer.send(KafkaProducerMessage(topic: "dlq", value: Array("x".utf8), headers: [KafkaHeader(key: "dlq.error.code", string: code)]))
            }
            producer.triggerGracefulShutdown()
            try await group.waitForAll()
        }

        let common = ["dlq", "replay", "--bootstrap-servers", cluster.bootstrapServers, "--from", "dlq", "--to", "requests"]
        let dry = try ProcessSupport.run(ProcessSupport.binary, common + ["--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("would replay 3 of 3 dead-lettered records from dlq to requests"), "\(dry.stdout)")
        #expect(dry.stdout.contains("decode.json: 2"))

        let real = try ProcessSupport.run(ProcessSupport.binary, common + ["--error-code", "decode.json"])
        #expect(real.status == 0, "\(real.stderr)")
        #expect(real.stdout.contains("replayed 2 of 3 dead-lettered records"), "\(real.stdout)")

        let bad = try ProcessSupport.run(ProcessSupport.binary, common + ["--since", "yesterday"])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("aicc-notify: usage: "), "\(bad.stderr)")
        #expect(bad.stderr.contains("--since"))

        // A --from topic that does not exist is said to be missing (exit 1), and is not created.
        let missing = try ProcessSupport.run(ProcessSupport.binary, [
            "dlq", "replay", "--bootstrap-servers", cluster.bootstrapServers, "--from", "no.such.dlq", "--to", "requests",
        ])
        #expect(missing.status == 1, "\(missing.stdout) \(missing.stderr)")
        #expect(missing.stderr.contains("aicc-notify: kafka.topic.unknown: "), "\(missing.stderr)")
        #expect(missing.stderr.contains("no.such.dlq does not exist"))
        #expect(!missing.stdout.contains("0 of 0"))
        let kcat = try #require(ProcessSupport.which("kcat"))
        let listing = try ProcessSupport.run(kcat, ["-L", "-b", cluster.bootstrapServers])
        #expect(listing.status == 0 && listing.stdout.contains("\"dlq\""), "\(listing.stdout)")
        #expect(!listing.stdout.contains("no.such.dlq"), "the replay created the topic: \(listing.stdout)")
    }
}
