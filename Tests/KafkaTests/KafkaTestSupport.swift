import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers

/// A logger for tests: silent unless `AICC_TEST_LOG=debug|info|...` is set,
/// and never through the global bootstrap.
func testLogger(_ label: String) -> Logger {
    guard let levelName = ProcessInfo.processInfo.environment["AICC_TEST_LOG"],
          let level = Logger.Level(rawValue: levelName) else {
        return Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() })
    }
    var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
    logger.logLevel = level
    return logger
}

/// Settings that keep group rebalances short on the mock cluster (its
/// rebalance waits up to session timeout - 1 s for members to rejoin).
func consumerConfiguration(
    cluster: KafkaMockCluster,
    group: String,
    topic: String,
    assignment: KafkaConsumerConfiguration.PartitionAssignment = .cooperativeSticky,
    watermarks: (low: Int, high: Int) = (64, 4096)
) -> KafkaConsumerConfiguration {
    KafkaConsumerConfiguration(
        groupID: group,
        topics: [topic],
        client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers, properties: ["topic.metadata.refresh.interval.ms": "1000"]),
        partitionAssignment: assignment,
        sessionTimeout: .seconds(6),
        heartbeatInterval: .milliseconds(500),
        revocationTimeout: .seconds(20),
        bufferWatermarks: watermarks
    )
}

func producerConfiguration(cluster: KafkaMockCluster, deliveryTimeout: Duration = .seconds(30)) -> KafkaProducerConfiguration {
    KafkaProducerConfiguration(
        client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers),
        deliveryTimeout: deliveryTimeout,
        flushTimeout: .seconds(10)
    )
}

/// A unique name per test run, so tests never share topics or groups.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8))"
}

struct TestTimeout: Error, CustomStringConvertible {
    var description: String
}

/// Runs `body` with a deadline; throws ``TestTimeout`` if it passes.
func withDeadline<T: Sendable>(
    _ duration: Duration,
    _ what: String,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: duration)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TestTimeout(description: "timed out after \(duration): \(what)")
        }
        return value
    }
}

/// A thread-safe log of what happened, with times, for ordering assertions.
final class Timeline: Sendable {
    struct Entry: Sendable {
        var who: String
        var what: String
        var partitions: [KafkaTopicPartition]
        var at: ContinuousClock.Instant
    }

    private let entries = NIOLockedValueBox<[Entry]>([])

    func record(_ who: String, _ what: String, _ partitions: [KafkaTopicPartition] = []) {
        let entry = Entry(who: who, what: what, partitions: partitions, at: .now)
        self.entries.withLockedValue { $0.append(entry) }
    }

    var all: [Entry] { self.entries.withLockedValue { $0 } }
}

extension KafkaConsumerMessage {
    var valueString: String { String(decoding: self.value, as: UTF8.self) }
    var keyString: String? { self.key.map { String(decoding: $0, as: UTF8.self) } }
}
