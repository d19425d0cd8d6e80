public import Foundation

/// Events in batches (issue 25): what one poll of the consumer returns, what
/// one batch claim answered, what one produce batch acknowledged. Each event
/// of a batch is applied in order, exactly as its single form would be; the
/// actions come back ``coalesced(_:)``: every claim of the batch in one
/// ``Action/claims(_:)``, every commit in one ``Action/commit(_:)``. A batch
/// claims no more keys than there are free call slots (a claim is only ever
/// issued for a record that holds a slot), so a crash still leaves at most
/// `aicc.maxConcurrency` keys in doubt.
extension DispatchMachine {
    /// One claim of a ``Action/claims(_:)`` batch.
    public struct ClaimOrder: Sendable, Hashable {
        /// The record the claim is for.
        public var id: RecordID
        /// Its request (the key, the fingerprint, the storm budget's number).
        public var request: NotificationRequest

        /// Creates an order.
        public init(id: RecordID, request: NotificationRequest) {
            self.id = id
            self.request = request
        }
    }

    /// Records consumed together, in the order the consumer delivered them
    /// (offset order within each partition).
    public mutating func recordsReceived(_ records: [DispatchRecord], now: Date) -> [Action] {
        var actions: [Action] = []
        actions.reserveCapacity(records.count)
        for record in records {
            actions += self.recordReceived(record, now: now)
        }
        return Self.coalesced(actions)
    }

    /// The store answered a batch of claims (``Action/claims(_:)``), in any order.
    public mutating func claimsAnswered(_ answers: [(id: RecordID, answer: ClaimAnswer)], now: Date) -> [Action] {
        var actions: [Action] = []
        for (id, answer) in answers {
            actions += self.claimAnswered(id, answer, now: now)
        }
        return Self.coalesced(actions)
    }

    /// Kafka acknowledged these publications (each as ``published(_:now:)``).
    public mutating func published(_ ids: [RecordID], now: Date) -> [Action] {
        var actions: [Action] = []
        for id in ids {
            actions += self.published(id, now: now)
        }
        return Self.coalesced(actions)
    }

    /// `actions` with every `claim` merged into one ``Action/claims(_:)`` (at
    /// the place of the first) and every `commit` into one ``Action/commit(_:)``
    /// holding the furthest position of each partition (commits are
    /// cumulative). Everything else keeps its order.
    public static func coalesced(_ actions: [Action]) -> [Action] {
        var claimCount = 0
        var commitCount = 0
        for action in actions {
            switch action {
            case .claim, .claims: claimCount += 1
            case .commit: commitCount += 1
            default: break
            }
        }
        guard claimCount > 1 || commitCount > 1 else { return actions }
        var orders: [ClaimOrder] = []
        var furthest: [TopicPartition: Int64] = [:]
        var partitionOrder: [TopicPartition] = []
        var claimsAt: Int?
        var commitAt: Int?
        var result: [Action] = []
        result.reserveCapacity(actions.count)
        for action in actions {
            switch action {
            case .claim(let id, let request) where claimCount > 1:
                orders.append(ClaimOrder(id: id, request: request))
                if claimsAt == nil { claimsAt = result.count; result.append(.claims([])) }
            case .claims(let more) where claimCount > 1:
                orders += more
                if claimsAt == nil { claimsAt = result.count; result.append(.claims([])) }
            case .commit(let positions) where commitCount > 1:
                for position in positions {
                    if let known = furthest[position.partition] {
                        furthest[position.partition] = max(known, position.offset)
                    } else {
                        furthest[position.partition] = position.offset
                        partitionOrder.append(position.partition)
                    }
                }
                if commitAt == nil { commitAt = result.count; result.append(.commit([])) }
            default:
                result.append(action)
            }
        }
        if let claimsAt { result[claimsAt] = .claims(orders) }
        if let commitAt {
            result[commitAt] = .commit(partitionOrder.map { CommitPosition(partition: $0, offset: furthest[$0]!) })
        }
        return result
    }
}
