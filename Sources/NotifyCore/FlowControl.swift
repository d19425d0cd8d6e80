/// Pausing and resuming partitions (product §4, §6 `dispatch.maxInFlight`).
///
/// Partitions are paused while any *hold* is on, and resumed when the last one
/// comes off. Three holds exist:
///
/// - ``Hold/inFlightBound``: put on when the records in flight reach the high
///   water mark ``maxInFlight`` (default 1024), taken off when they drop to the
///   low water mark ``resumeBelow`` (default 90 % of it, 921) or under —
///   hysteresis, so that a full worker does not flap pause/resume on every record;
/// - ``Hold/outage``: put on and off from outside (the ``OutageBreaker``'s
///   `pauseAll`/`resumeAll`);
/// - ``Hold/shutdown``: put on at shutdown, never taken off.
///
/// The bound is soft: records the consumer had already fetched may still arrive
/// after a pause and are admitted. Partitions assigned while a hold is on are
/// paused at once. Actions name the partitions to pause or resume, sorted.
public struct FlowControl: Sendable, Hashable {
    /// Why partitions are paused.
    public enum Hold: Sendable, Hashable, CaseIterable {
        /// Too many records in flight.
        case inFlightBound
        /// AICC is out (or refuses the credentials).
        case outage
        /// The worker is shutting down: nothing resumes any more.
        case shutdown
    }

    /// What the worker does.
    public enum Action: Sendable, Hashable {
        /// Pause fetching these partitions.
        case pause([TopicPartition])
        /// Resume fetching these partitions.
        case resume([TopicPartition])
    }

    /// High water mark: records in flight at which partitions are paused (default 1024).
    public let maxInFlight: Int
    /// Low water mark: partitions resume when the records in flight drop to this
    /// or below (default `maxInFlight × 0.9`, rounded down).
    public let resumeBelow: Int

    /// Records in flight.
    public private(set) var inFlight = 0
    /// Holds that are on.
    public private(set) var holds: Set<Hold> = []
    /// Assigned partitions.
    public private(set) var assigned: Set<TopicPartition> = []

    /// Creates a flow control with `maxInFlight` (at least 1) and a resume mark
    /// at `resumeFraction` of it (clamped so that `0 ≤ resumeBelow < maxInFlight`).
    public init(maxInFlight: Int = 1024, resumeFraction: Double = 0.9) {
        let high = Swift.max(1, maxInFlight)
        let fraction = resumeFraction.isFinite ? Swift.min(Swift.max(resumeFraction, 0), 1) : 0.9
        self.maxInFlight = high
        self.resumeBelow = Swift.min(high - 1, Int((Double(high) * fraction).rounded(.down)))
    }

    /// Whether partitions are paused.
    public var isPaused: Bool { !holds.isEmpty }

    /// Partitions were assigned; they are paused at once if a hold is on.
    public mutating func assign(_ partitions: some Sequence<TopicPartition>) -> [Action] {
        let new = Set(partitions).subtracting(assigned)
        assigned.formUnion(new)
        guard isPaused, !new.isEmpty else { return [] }
        return [.pause(new.sorted())]
    }

    /// Partitions were revoked (their records leave through ``left(_:)``).
    public mutating func revoke(_ partitions: some Sequence<TopicPartition>) {
        assigned.subtract(partitions)
    }

    /// `count` records entered the worker.
    public mutating func entered(_ count: Int = 1) -> [Action] {
        inFlight += Swift.max(0, count)
        guard inFlight >= maxInFlight else { return [] }
        return hold(.inFlightBound)
    }

    /// `count` records left the worker (finished, or dropped on revocation).
    public mutating func left(_ count: Int = 1) -> [Action] {
        inFlight = Swift.max(0, inFlight - Swift.max(0, count))
        guard inFlight <= resumeBelow else { return [] }
        return release(.inFlightBound)
    }

    /// Puts a hold on; pauses every assigned partition when it is the first.
    public mutating func hold(_ hold: Hold) -> [Action] {
        let wasPaused = isPaused
        guard holds.insert(hold).inserted, !wasPaused, !assigned.isEmpty else { return [] }
        return [.pause(assigned.sorted())]
    }

    /// Takes a hold off; resumes every assigned partition when it was the last.
    public mutating func release(_ hold: Hold) -> [Action] {
        guard holds.remove(hold) != nil, !isPaused, !assigned.isEmpty else { return [] }
        return [.resume(assigned.sorted())]
    }
}
