/// Per-key ordering (product §4: "requests with the same Kafka key are
/// dispatched in order; different keys proceed concurrently, also within one
/// partition").
///
/// Records are enqueued in the order the consumer hands them out (offset order
/// within a partition). A record whose key has no record in progress is
/// ``Admission/ready`` at once; otherwise it waits in that key's lane and
/// becomes ready when the one before it ``complete(_:)``s: one record at a time
/// per key, strictly in offset order.
///
/// A lane is a (partition, key) pair: Kafka orders records only within a
/// partition, so the same key in two partitions has no order to keep. A `nil`
/// key (a record without one) puts no constraint on anything: it is always ready.
///
/// `ID` identifies a record (e.g. its ``CommitPosition``); it must be unique
/// among records in the sequencer. Cost: amortized O(1) per operation.
public struct KeyedSequencer<ID: Hashable & Sendable>: Sendable {
    /// What ``enqueue(_:key:partition:)`` decided.
    public enum Admission: Sendable, Hashable {
        /// Dispatch the record now.
        case ready
        /// The record waits behind `position` others of its key (1 = next).
        case queued(position: Int)
    }

    struct LaneKey: Hashable, Sendable {
        var partition: TopicPartition
        var key: [UInt8]
    }

    struct Lane: Sendable {
        /// The record in progress.
        var active: ID
        /// Records waiting, in offset order.
        var waiting = FIFO<ID>()
    }

    struct Entry: Sendable {
        var partition: TopicPartition
        var lane: LaneKey?
    }

    private var lanes: [LaneKey: Lane] = [:]
    private var entries: [ID: Entry] = [:]

    /// An empty sequencer.
    public init() {}

    /// Admits a record. Call in offset order within a partition.
    ///
    /// - Precondition: `id` is not already in the sequencer.
    public mutating func enqueue(_ id: ID, key: [UInt8]?, partition: TopicPartition) -> Admission {
        precondition(entries[id] == nil, "record \(id) enqueued twice")
        guard let key else {
            entries[id] = Entry(partition: partition, lane: nil)
            return .ready
        }
        let laneKey = LaneKey(partition: partition, key: key)
        entries[id] = Entry(partition: partition, lane: laneKey)
        if lanes[laneKey] != nil {
            // Mutated in place (no copy of the queue).
            lanes[laneKey]!.waiting.append(id)
            return .queued(position: lanes[laneKey]!.waiting.count)
        }
        lanes[laneKey] = Lane(active: id)
        return .ready
    }

    /// Marks the in-progress record `id` done.
    ///
    /// - Returns: the next record of its key, now ready to dispatch, or `nil`
    ///   (no record waits, or `id` is unknown, or `id` was waiting rather than in
    ///   progress — a waiting record is never completed, only revoked).
    public mutating func complete(_ id: ID) -> ID? {
        guard let entry = entries[id] else { return nil }
        guard let laneKey = entry.lane else {
            entries[id] = nil
            return nil
        }
        guard lanes[laneKey]?.active == id else { return nil }
        entries[id] = nil
        guard let next = lanes[laneKey]!.waiting.popFirst() else {
            lanes[laneKey] = nil
            return nil
        }
        lanes[laneKey]!.active = next
        return next
    }

    /// Forgets every record of the listed partitions, in progress or waiting.
    ///
    /// - Returns: the forgotten ids (in no particular order).
    @discardableResult
    public mutating func revoke(_ partitions: some Sequence<TopicPartition>) -> [ID] {
        let revoked = Set(partitions)
        guard !revoked.isEmpty else { return [] }
        var removed: [ID] = []
        for (id, entry) in entries where revoked.contains(entry.partition) {
            removed.append(id)
        }
        for id in removed { entries[id] = nil }
        lanes = lanes.filter { !revoked.contains($0.key.partition) }
        return removed
    }

    /// Whether `id` is in the sequencer and dispatchable (not waiting).
    public func isActive(_ id: ID) -> Bool {
        guard let entry = entries[id] else { return false }
        guard let laneKey = entry.lane else { return true }
        return lanes[laneKey]?.active == id
    }

    /// Records in the sequencer (in progress and waiting).
    public var count: Int { entries.count }

    /// Records waiting behind another of their key.
    public var waitingCount: Int { lanes.values.reduce(0) { $0 + $1.waiting.count } }
}
