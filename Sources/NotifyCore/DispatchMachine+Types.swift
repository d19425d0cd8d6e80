public import Foundation

/// One input record's identity: where it was read.
public struct RecordID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The partition it was read from.
    public var partition: TopicPartition
    /// Its offset.
    public var offset: Int64

    /// Creates an id.
    public init(partition: TopicPartition, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }

    public var description: String { "\(partition)@\(offset)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.partition, lhs.offset) < (rhs.partition, rhs.offset)
    }
}

/// What the dispatch core needs of one consumed record.
public struct DispatchRecord: Sendable, Hashable {
    /// Where it was read.
    public var id: RecordID
    /// The Kafka key; `nil` when the record has none (no ordering constraint).
    public var key: [UInt8]?
    /// What ``RequestDecoder`` made of it.
    public var decoded: DecodeResult

    /// Creates a record.
    public init(id: RecordID, key: [UInt8]?, decoded: DecodeResult) {
        self.id = id
        self.key = key
        self.decoded = decoded
    }
}

/// What the idempotency store answered to a claim (product §4). The worker maps
/// its store adapter's answer onto this.
public enum ClaimAnswer: Sendable, Hashable {
    /// The key is ours now: call AICC.
    case claimed
    /// This very request (same `requestId`) is already complete: publish the
    /// stored result again, byte for byte.
    case completed(storedResult: [UInt8])
    /// Another request with this key and the same fingerprint was dispatched:
    /// publish `duplicate` with its `callSerialNo` and `duplicateOf`.
    case duplicate(originalRequestId: String, outcome: NotificationResult.Outcome, callSerialNo: String?)
    /// Same key, different fingerprint: `rejected` with `idempotency.conflict`.
    case conflict
    /// The key is ours, but the called number's storm budget is spent
    /// (product §10): record and publish `suppressed` with `error`; no call.
    case suppressed(error: NotificationResult.ErrorInfo)
    /// Another worker holds the claim with a live lease: neither call nor report;
    /// ask again at `retryAt`.
    case inFlightElsewhere(retryAt: Date)
    /// The claim's previous owner is gone without recording an answer; the store
    /// has handed the claim to us. The in-doubt policy decides: `report`
    /// records and publishes `indeterminate`, `retry` calls AICC.
    case inDoubt
}

/// What an AICC create call answered, classified (product §4, aicc-api.md §2).
/// The worker maps its AICC client's answer onto this.
public enum CallAnswer: Sendable, Hashable {
    /// AICC created the call.
    case accepted(callSerialNo: String, aicc: NotificationResult.AICCAnswer)
    /// AICC certainly created no call and a later attempt may succeed (never
    /// sent, HTTP 5xx/429, retCode 1/3, 401 after one refresh). A failure that
    /// is not certainly unsent is ``inDoubt(error:)``, never this.
    case transient(error: NotificationResult.ErrorInfo, aicc: NotificationResult.AICCAnswer?)
    /// Sent, no usable answer: the call may exist (timeout, connection lost).
    case inDoubt(error: NotificationResult.ErrorInfo)
    /// AICC refused the request for good (HTTP 400/403/404, permanent retCodes),
    /// or the client refused to send it (`aicc` is then `nil`).
    case permanent(error: NotificationResult.ErrorInfo, aicc: NotificationResult.AICCAnswer?)
    /// `tokenByAkSk` refused the credentials: an outage, not a request outcome.
    /// The create call was not made; the record waits for the outage to end.
    case credentialsRefused
}

/// What to do with a claim or an attempt that is in doubt (`dispatch.inDoubtPolicy`).
public enum InDoubtPolicy: String, Sendable, Hashable, CaseIterable {
    /// Publish `indeterminate`; never call again (default).
    case report
    /// Call again, under the retry policy's attempts and deadline.
    case retry
}

/// The result to publish.
public enum ResultPayload: Sendable, Hashable {
    /// A result reached now: encode and publish it.
    case fresh(NotificationResult)
    /// A stored result of this very request: publish these bytes unchanged,
    /// keyed by the request's idempotency key.
    case stored([UInt8], idempotencyKey: String)

    /// The Kafka key of the result record: the idempotency key (product §2).
    public var idempotencyKey: String {
        switch self {
        case .fresh(let result): result.idempotencyKey
        case .stored(_, let key): key
        }
    }
}

extension DispatchMachine {
    /// Settings, with the defaults of product §6.
    public struct Configuration: Sendable, Hashable {
        /// `retry.*`: 1 s, 60 s, 8 attempts.
        public var retry: RetryPolicy
        /// `aicc.maxConcurrency` (default 64): claims plus calls in flight. A
        /// key is claimed only when a slot is free, so a crash leaves at most
        /// this many keys in doubt.
        public var maxConcurrency: Int
        /// `dispatch.maxInFlight` (default 1024) and the resume mark (90 %).
        public var flowControl: FlowControl
        /// `dispatch.inDoubtPolicy` (default `report`).
        public var inDoubtPolicy: InDoubtPolicy
        /// Outage detection (threshold 5, probes 1 s doubling to 30 s).
        public var breaker: OutageBreaker

        /// Creates a configuration.
        public init(
            retry: RetryPolicy = RetryPolicy(), maxConcurrency: Int = 64, flowControl: FlowControl = FlowControl(),
            inDoubtPolicy: InDoubtPolicy = .report, breaker: OutageBreaker = OutageBreaker()
        ) {
            self.retry = retry
            self.maxConcurrency = Swift.max(1, maxConcurrency)
            self.flowControl = flowControl
            self.inDoubtPolicy = inDoubtPolicy
            self.breaker = breaker
        }
    }

    /// An effect for the worker to perform; most answer with an event.
    public enum Action: Sendable, Hashable {
        /// Claim `request.idempotencyKey` (with its fingerprint) in the store;
        /// answer with ``DispatchMachine/claimAnswered(_:_:now:)``.
        case claim(RecordID, NotificationRequest)
        /// Claim several keys in one store operation (the batch events'
        /// ``DispatchMachine/coalesced(_:)`` claims); answer with
        /// ``DispatchMachine/claimsAnswered(_:now:)`` (or each with
        /// ``DispatchMachine/claimAnswered(_:_:now:)``).
        case claims([ClaimOrder])
        /// Call AICC (`attempt` counts from 1); answer with
        /// ``DispatchMachine/aiccAnswered(_:_:now:randomUnit:)``. Renew the
        /// claim's lease while the call is out.
        case callAICC(RecordID, NotificationRequest, attempt: Int)
        /// Store the outcome of a claimed key (an `expired` outcome releases the
        /// claim; `attemptInDoubt` says whether any attempt may have placed a
        /// call); answer with ``DispatchMachine/outcomeRecorded(_:now:)``.
        case recordOutcome(RecordID, NotificationResult, attemptInDoubt: Bool)
        /// Give up a claim without an outcome (its partition was revoked before a
        /// call was placed, or every attempt certainly created no call): the next
        /// owner claims the key afresh. No answer is expected.
        case releaseClaim(RecordID, NotificationRequest)
        /// Publish a result (awaited); answer with ``DispatchMachine/published(_:now:)``.
        case publishResult(RecordID, ResultPayload)
        /// Publish the record to the dead-letter topic with these errors
        /// (``DeadLetterHeader``); answer with ``DispatchMachine/published(_:now:)``.
        case publishDeadLetter(RecordID, errors: [ContractError])
        /// Fire ``DispatchMachine/retryTimerFired(_:now:)`` at `at`.
        case scheduleRetry(RecordID, at: Date)
        /// Pause fetching these partitions.
        case pause([TopicPartition])
        /// Resume fetching these partitions.
        case resume([TopicPartition])
        /// Commit these positions (already marked committed: commits are
        /// cumulative, a failed one is superseded by the next).
        case commit([CommitPosition])
        /// Fire ``DispatchMachine/probeTimerFired(now:)`` at `at`.
        case scheduleProbe(at: Date)
        /// Probe AICC (a token fetch); answer with ``DispatchMachine/probeAnswered(success:now:)``.
        case sendProbe
    }
}
