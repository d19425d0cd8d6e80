import Kafka
import Logging
import NIOConcurrencyHelpers

/// Commits input offsets one batch at a time, in the background of the
/// dispatch loop.
///
/// Positions are cumulative (each is the next offset to read), so a newer
/// position for a partition supersedes an older one that has not gone out yet,
/// and commits never go backwards: ``submit(_:)`` keeps the highest position
/// per partition, ``run()`` sends what is pending in one `commit` and repeats
/// while more arrives. A failed commit (typically `rebalance_in_progress` or
/// `illegal_generation` while the group rebalances) is logged and put back
/// unless a newer position arrived meanwhile, and sent again after a backoff
/// (100 ms doubling to 2 s) even if no new record finishes: the last
/// positions of a partition that has gone quiet must not stay uncommitted.
/// Positions of partitions revoked meanwhile are dropped. Kafka re-delivers
/// what a lost commit did not cover, and the idempotency store turns that
/// into no second call.
final class OffsetCommitter: Sendable {
    private struct State {
        var pending: [KafkaTopicPartition: Int64] = [:]
        /// The batch being committed now.
        var inProgress: [KafkaTopicPartition: Int64] = [:]
        /// Partitions no longer ours: positions for them are dropped.
        var revoked: Set<KafkaTopicPartition> = []
        /// The last position committed per partition we hold.
        var committed: [KafkaTopicPartition: Int64] = [:]
    }

    /// The last position committed for each partition this worker holds.
    var committedPositions: [KafkaTopicPartition: Int64] {
        self.state.withLockedValue { $0.committed }
    }

    private let consumer: KafkaConsumer
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    init(consumer: KafkaConsumer, logger: Logger) {
        self.consumer = consumer
        self.logger = logger
        (self.signals, self.signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues positions (never blocks).
    func submit(_ positions: some Sequence<KafkaCommitPosition>) {
        self.state.withLockedValue { state in
            for position in positions where !state.revoked.contains(position.topicPartition) {
                let current = state.pending[position.topicPartition] ?? .min
                state.pending[position.topicPartition] = max(current, position.offset)
            }
        }
        self.signal.yield()
    }

    /// Partitions were assigned (again): accept positions for them.
    func assigned(_ partitions: some Sequence<KafkaTopicPartition>) {
        self.state.withLockedValue { $0.revoked.subtract(partitions) }
    }

    /// Partitions are gone: drop what is pending for them (another member may
    /// own them now; an old position must not overwrite its progress).
    func revoked(_ partitions: some Sequence<KafkaTopicPartition>) {
        self.state.withLockedValue { state in
            state.revoked.formUnion(partitions)
            for partition in partitions {
                state.pending[partition] = nil
                state.committed[partition] = nil
            }
        }
    }

    /// Waits until nothing is pending or in progress for `partitions`, asking
    /// for a commit again while something is, for at most `timeout`.
    /// Returns whether everything was committed.
    @discardableResult
    func flush(_ partitions: [KafkaTopicPartition], timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let busy = self.state.withLockedValue { state in
                partitions.contains { state.pending[$0] != nil || state.inProgress[$0] != nil }
            }
            guard busy else { return true }
            guard ContinuousClock.now < deadline, !Task.isCancelled else {
                self.logger.warning("offsets not committed before the deadline; those records will be read again (no second call)")
                return false
            }
            self.signal.yield()
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Commits until cancelled.
    func run() async {
        for await _ in self.signals {
            var backoff: Duration = .milliseconds(100)
            while await !self.commitPending(), !Task.isCancelled {
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
    }

    /// Commits what is pending, batch after batch. Returns `false` when a
    /// commit failed and its positions are pending again.
    private func commitPending() async -> Bool {
        while !Task.isCancelled {
            let batch: [KafkaTopicPartition: Int64] = self.state.withLockedValue { state in
                guard state.inProgress.isEmpty else { return [:] }
                state.inProgress = state.pending
                state.pending = [:]
                return state.inProgress
            }
            guard !batch.isEmpty else { return true }
            var failure: (any Error)?
            do {
                try await self.consumer.commit(batch.map { KafkaCommitPosition(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) })
            } catch {
                failure = error
            }
            self.state.withLockedValue { state in
                state.inProgress = [:]
                guard failure != nil else {
                    for (partition, offset) in batch where !state.revoked.contains(partition) {
                        state.committed[partition] = max(state.committed[partition] ?? .min, offset)
                    }
                    return
                }
                for (partition, offset) in batch where state.pending[partition] == nil && !state.revoked.contains(partition) {
                    state.pending[partition] = offset
                }
            }
            if let failure {
                self.logger.warning("offset commit failed; retrying", metadata: [
                    LogKey.errorCode: "\((failure as? KafkaError)?.code ?? "kafka.unknown")",
                ])
                let stillPending = self.state.withLockedValue { !$0.pending.isEmpty }
                return !stillPending
            }
        }
        return true
    }
}
