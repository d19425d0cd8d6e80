/// Per-partition commit watermarks (product §4: "offsets are committed only up
/// to the lowest offset not yet finished").
///
/// - ``track(_:offset:)`` when a record enters the worker (in the order the
///   consumer hands records out, which is offset order within a partition);
/// - ``finish(_:offset:)`` when its result is published (or it was dead-lettered);
/// - ``pendingCommits()`` lists the positions that advanced since the last
///   ``markCommitted(_:)``; the worker commits them and then marks them.
///
/// The position of a partition (``commitPosition(_:)``) is Kafka's "next offset
/// to read": the lowest unfinished offset, or the highest finished offset + 1 when
/// nothing is unfinished. Offsets need not be contiguous (compacted topics,
/// transaction markers): a gap is never waited for, because only tracked offsets
/// can be unfinished.
///
/// Cost: O(log n) per ``track(_:offset:)``/``finish(_:offset:)`` (a min-heap of
/// tracked offsets with lazy removal of finished ones), O(1) per
/// ``commitPosition(_:)``; memory is proportional to the records in flight.
public struct OffsetTracker: Sendable {
    struct Watermark: Sendable {
        /// Tracked offsets not yet drained: every unfinished one, plus finished
        /// ones that sit above an unfinished one.
        var heap = MinHeap<Int64>()
        /// Tracked, not finished.
        var unfinished: Set<Int64> = []
        /// Highest offset drained from the heap (finished, below every unfinished).
        var highestDrained: Int64?
        /// The last position handed to ``markCommitted(_:)``.
        var committed: Int64?

        var position: Int64? {
            if let lowest = heap.min { return lowest }
            return highestDrained.map { $0 + 1 }
        }

        /// Pops finished offsets off the bottom of the heap.
        mutating func drain() {
            while let lowest = heap.min, !unfinished.contains(lowest) {
                heap.popMin()
                highestDrained = Swift.max(highestDrained ?? lowest, lowest)
            }
        }
    }

    private var watermarks: [TopicPartition: Watermark] = [:]

    /// An empty tracker.
    public init() {}

    /// Records that the record at `offset` entered the worker.
    ///
    /// - Returns: `false` (and changes nothing) when the offset is already
    ///   tracked and unfinished, e.g. a redelivery while the first copy is in flight.
    @discardableResult
    public mutating func track(_ partition: TopicPartition, offset: Int64) -> Bool {
        // Mutated in place (no copy of the heap or the set: that would be O(n)).
        guard watermarks[partition, default: Watermark()].unfinished.insert(offset).inserted else { return false }
        watermarks[partition, default: Watermark()].heap.insert(offset)
        return true
    }

    /// Records that the record at `offset` is finished (its result is published).
    ///
    /// - Returns: `false` (and changes nothing) when the offset is not tracked
    ///   or already finished, or the partition was revoked.
    @discardableResult
    public mutating func finish(_ partition: TopicPartition, offset: Int64) -> Bool {
        guard watermarks[partition]?.unfinished.remove(offset) != nil else { return false }
        watermarks[partition]?.drain()
        return true
    }

    /// The position to commit for `partition`: the lowest unfinished offset, or
    /// the highest finished offset + 1 when none is unfinished; `nil` when
    /// nothing was tracked (or the partition was revoked).
    public func commitPosition(_ partition: TopicPartition) -> Int64? {
        watermarks[partition]?.position
    }

    /// Positions that advanced past the last committed one, sorted by partition.
    public func pendingCommits() -> [CommitPosition] {
        watermarks.compactMap { partition, watermark -> CommitPosition? in
            guard let position = watermark.position else { return nil }
            if let committed = watermark.committed, committed >= position { return nil }
            return CommitPosition(partition: partition, offset: position)
        }
        .sorted { $0.partition < $1.partition }
    }

    /// Records that `positions` were committed. A position lower than one
    /// already marked does not move the mark back; unknown partitions are ignored.
    public mutating func markCommitted(_ positions: some Sequence<CommitPosition>) {
        for position in positions {
            guard let committed = watermarks[position.partition].map({ $0.committed }) else { continue }
            watermarks[position.partition]?.committed = Swift.max(committed ?? position.offset, position.offset)
        }
    }

    /// Forgets every listed partition (revoked or lost): its unfinished records
    /// will be redelivered to the next owner from the last committed position.
    public mutating func revoke(_ partitions: some Sequence<TopicPartition>) {
        for partition in partitions { watermarks[partition] = nil }
    }

    /// Whether the record at `offset` is tracked and unfinished.
    public func isUnfinished(_ partition: TopicPartition, offset: Int64) -> Bool {
        watermarks[partition]?.unfinished.contains(offset) ?? false
    }

    /// Unfinished records in `partition`.
    public func unfinishedCount(_ partition: TopicPartition) -> Int {
        watermarks[partition]?.unfinished.count ?? 0
    }

    /// Unfinished records in every partition.
    public var unfinishedCount: Int {
        watermarks.values.reduce(0) { $0 + $1.unfinished.count }
    }

    /// Partitions with state, sorted.
    public var partitions: [TopicPartition] {
        watermarks.keys.sorted()
    }
}
