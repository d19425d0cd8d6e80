public import NotifyCore
public import NotifyStore

extension DispatchService {
    /// How the pipeline runs; ``WorkerConfiguration`` maps onto it.
    public struct Configuration: Sendable {
        /// Where results and dead-letter records go (`kafka.topics.*`).
        public var resultsTopic: String
        /// `kafka.topics.deadLetter`.
        public var deadLetterTopic: String
        /// The owner of this process's claims: `worker.id` and a new
        /// incarnation per start.
        public var owner: StoreOwner
        /// The dispatch core's settings: retries, `aicc.maxConcurrency`,
        /// `dispatch.maxInFlight`, `dispatch.inDoubtPolicy`, the breaker.
        public var machine: DispatchMachine.Configuration
        /// `dispatch.claimLease`. Default 30 s.
        public var claimLease: Duration
        /// `dispatch.drainTimeout`. Default 30 s.
        public var drainTimeout: Duration
        /// Makes the per-request callback URL handed to AICC, or `nil` for
        /// none (status callbacks off, or the request asked for none).
        /// Default: none.
        public var callbackURL: (@Sendable (NotificationRequest) -> String?)?
        /// `dispatch.storm.*`: the per-number call budget. Default: off.
        public var storm: StormBudget
        /// `kafka.groupId`, for the spans' `messaging.consumer.group.name`. Default `aicc-notify`.
        public var groupID: String
        /// How records are decoded; `kafka.cloudEvents.types` restricts the
        /// CloudEvent types. Default: the contract's limits, any type.
        public var decoder: RequestDecoder.Configuration

        /// Creates a configuration; the defaults are documented on each property.
        public init(
            resultsTopic: String = "notification.results", deadLetterTopic: String = "notification.requests.dlq",
            owner: StoreOwner, machine: DispatchMachine.Configuration = .init(), claimLease: Duration = .seconds(30),
            drainTimeout: Duration = .seconds(30), callbackURL: (@Sendable (NotificationRequest) -> String?)? = nil,
            storm: StormBudget = .init(), groupID: String = "aicc-notify",
            decoder: RequestDecoder.Configuration = .init()
        ) {
            self.decoder = decoder
            self.groupID = groupID
            self.resultsTopic = resultsTopic
            self.deadLetterTopic = deadLetterTopic
            self.owner = owner
            self.machine = machine
            self.claimLease = claimLease
            self.drainTimeout = drainTimeout
            self.callbackURL = callbackURL
            self.storm = storm
        }

        /// `dispatch.inDoubtPolicy`.
        public var inDoubtPolicy: InDoubtPolicy { self.machine.inDoubtPolicy }
    }
}
