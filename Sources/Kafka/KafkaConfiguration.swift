/// Settings shared by producers and consumers.
public struct KafkaClientConfiguration: Sendable {
    /// Checks pass-through librdkafka `properties` without creating a client:
    /// an unknown name or a value librdkafka refuses throws
    /// `kafka.config.invalid` naming the property, never its value.
    public static func validate(properties: [String: String]) throws(KafkaError) {
        try RDKafkaConfig.validate(properties)
    }

    /// Comma-separated `host:port` list. Default: `localhost:9092`.
    public var bootstrapServers: String
    /// `client.id` reported to brokers. Default: `aicc-notify`.
    public var clientID: String
    /// How to talk to the brokers. Default: plaintext.
    public var security: KafkaSecurity
    /// Pass-through librdkafka properties (tuning, anything not typed here).
    /// Settings that the wrapper needs for its own semantics (group id, manual
    /// commits, the event API) are applied after these and win.
    /// Default: empty.
    public var properties: [String: String]

    public init(
        bootstrapServers: String = "localhost:9092",
        clientID: String = "aicc-notify",
        security: KafkaSecurity = .plaintext,
        properties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.security = security
        self.properties = properties
    }

    /// The librdkafka properties for these settings, before the client's own.
    var rdKafkaProperties: [String: String] {
        var result: [String: String] = [
            "bootstrap.servers": self.bootstrapServers,
            "client.id": self.clientID,
        ]
        result.merge(self.security.rdKafkaProperties) { _, new in new }
        result.merge(self.properties) { _, new in new }
        return result
    }
}

/// Transport security and authentication, as librdkafka's `security.protocol`
/// and `sasl.*` / `ssl.*` properties. Anything not typed here can be set
/// through ``KafkaClientConfiguration/properties``.
public struct KafkaSecurity: Sendable {
    /// librdkafka's `security.protocol`.
    public enum SecurityProtocol: String, Sendable {
        case plaintext = "plaintext"
        case ssl = "ssl"
        case saslPlaintext = "sasl_plaintext"
        case saslSSL = "sasl_ssl"
    }

    /// SASL credentials. `password` is a secret: it is handed to librdkafka
    /// and never logged.
    public struct SASL: Sendable {
        /// `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `OAUTHBEARER`.
        public var mechanism: String
        public var username: String
        public var password: String

        public init(mechanism: String, username: String, password: String) {
            self.mechanism = mechanism
            self.username = username
            self.password = password
        }
    }

    /// TLS files (PEM). Unset fields use librdkafka's defaults (system CAs).
    public struct TLS: Sendable {
        public var caLocation: String?
        public var certificateLocation: String?
        public var keyLocation: String?
        public var keyPassword: String?

        public init(caLocation: String? = nil, certificateLocation: String? = nil, keyLocation: String? = nil, keyPassword: String? = nil) {
            self.caLocation = caLocation
            self.certificateLocation = certificateLocation
            self.keyLocation = keyLocation
            self.keyPassword = keyPassword
        }
    }

    public var `protocol`: SecurityProtocol
    public var sasl: SASL?
    public var tls: TLS?

    public init(protocol: SecurityProtocol, sasl: SASL? = nil, tls: TLS? = nil) {
        self.protocol = `protocol`
        self.sasl = sasl
        self.tls = tls
    }

    /// No TLS, no authentication: local development and the mock cluster.
    public static let plaintext = KafkaSecurity(protocol: .plaintext)

    var rdKafkaProperties: [String: String] {
        var result = ["security.protocol": self.protocol.rawValue]
        if let sasl = self.sasl {
            result["sasl.mechanism"] = sasl.mechanism
            result["sasl.username"] = sasl.username
            result["sasl.password"] = sasl.password
        }
        if let tls = self.tls {
            result["ssl.ca.location"] = tls.caLocation
            result["ssl.certificate.location"] = tls.certificateLocation
            result["ssl.key.location"] = tls.keyLocation
            result["ssl.key.password"] = tls.keyPassword
        }
        return result
    }
}

/// Configuration of a ``KafkaProducer``.
public struct KafkaProducerConfiguration: Sendable {
    public var client: KafkaClientConfiguration
    /// Idempotent producer: no duplicates or reordering from librdkafka's own
    /// retries. Default: `true`.
    public var idempotent: Bool
    /// How long a message may wait for delivery before its send fails with a
    /// retriable `kafka.msg_timed_out`. Default: 300 s (librdkafka's).
    public var deliveryTimeout: Duration
    /// `linger.ms`: how long librdkafka waits to batch messages. A `linger.ms`
    /// (or its alias `queue.buffering.max.ms`) among the client's pass-through
    /// properties wins over this one. Default: 5 ms.
    public var linger: Duration
    /// How long shutdown waits for outstanding deliveries before failing them
    /// with `kafka.shutdown`. Default: 30 s.
    public var flushTimeout: Duration
    /// Topics whose partitions the producer asks for as it starts, before it
    /// serves deliveries, so that its first records to each are not held for
    /// librdkafka's own metadata round (~1 s in librdkafka 2.0.2, measured on
    /// the mock cluster). Best effort, logged at debug: a topic's own error
    /// skips it, no broker answering within 1 s ends the asking. A broker
    /// that creates topics on demand creates these at start rather than at
    /// their first record. Default: none.
    public var topicsToPrepare: [String]

    public init(
        client: KafkaClientConfiguration = .init(),
        idempotent: Bool = true,
        deliveryTimeout: Duration = .seconds(300),
        linger: Duration = .milliseconds(5),
        flushTimeout: Duration = .seconds(30),
        topicsToPrepare: [String] = []
    ) {
        self.client = client
        self.idempotent = idempotent
        self.deliveryTimeout = deliveryTimeout
        self.linger = linger
        self.flushTimeout = flushTimeout
        self.topicsToPrepare = topicsToPrepare
    }

    var rdKafkaProperties: [String: String] {
        var result = self.client.rdKafkaProperties
        result["enable.idempotence"] = self.idempotent ? "true" : "false"
        result["message.timeout.ms"] = String(self.deliveryTimeout.milliseconds)
        // A `linger.ms` (or its alias) among the pass-through properties wins.
        if self.client.properties["linger.ms"] == nil, self.client.properties["queue.buffering.max.ms"] == nil {
            result["linger.ms"] = String(self.linger.milliseconds)
        }
        return result
    }
}

/// Configuration of a ``KafkaConsumer``.
public struct KafkaConsumerConfiguration: Sendable {
    /// How partitions are spread over the group's members.
    public enum PartitionAssignment: String, Sendable {
        /// Eager `range`: every rebalance revokes everything, then assigns.
        case range = "range"
        /// Eager `roundrobin`.
        case roundRobin = "roundrobin"
        /// Incremental: only the partitions that move are revoked.
        case cooperativeSticky = "cooperative-sticky"
    }

    /// Where a group without a committed offset starts.
    public enum OffsetReset: String, Sendable {
        case earliest
        case latest
    }

    public var client: KafkaClientConfiguration
    /// The consumer group. Required.
    public var groupID: String
    /// Topics to subscribe to. Required.
    public var topics: [String]
    /// Default: `.earliest` (requests produced before the first start are not lost).
    public var autoOffsetReset: OffsetReset
    /// Default: `.range` (eager). `.cooperativeSticky` moves fewer partitions
    /// per rebalance, but with librdkafka 2.0.2 (Debian 12's) a group of three
    /// whose member was SIGKILLed was seen here to lose its assignments every
    /// ~10 s from then on (rebalance_in_progress, illegal_generation, lost
    /// partitions, no commit landing), where eager `range` settled in one
    /// rebalance (`FleetProcessTests`). `partition.assignment.strategy` in the
    /// pass-through properties overrides it.
    public var partitionAssignment: PartitionAssignment
    /// `session.timeout.ms`; `nil` keeps librdkafka's default (45 s).
    public var sessionTimeout: Duration?
    /// `heartbeat.interval.ms`; `nil` keeps librdkafka's default (3 s).
    public var heartbeatInterval: Duration?
    /// How long the consumer waits for the application to acknowledge a
    /// revocation before giving the partitions up anyway. Default: 30 s.
    public var revocationTimeout: Duration
    /// Events buffered ahead of the application: above `high` the consumer
    /// stops taking records from librdkafka until the buffer drains to `low`.
    /// A batch of records is one event, so at most `high` ×
    /// ``maxBatchSize`` records wait here. Default: 2 / 64 (at most 4,096
    /// records, as many as one event a record allowed before batches).
    public var bufferWatermarks: (low: Int, high: Int)
    /// The most records one ``KafkaConsumerEvent/messages(_:)`` event holds:
    /// the consumer hands over what librdkafka has fetched, without waiting
    /// for more. Default: 64.
    public var maxBatchSize: Int

    public init(
        groupID: String,
        topics: [String],
        client: KafkaClientConfiguration = .init(),
        autoOffsetReset: OffsetReset = .earliest,
        partitionAssignment: PartitionAssignment = .range,
        sessionTimeout: Duration? = nil,
        heartbeatInterval: Duration? = nil,
        revocationTimeout: Duration = .seconds(30),
        bufferWatermarks: (low: Int, high: Int) = (2, 64),
        maxBatchSize: Int = 64
    ) {
        self.client = client
        self.groupID = groupID
        self.topics = topics
        self.autoOffsetReset = autoOffsetReset
        self.partitionAssignment = partitionAssignment
        self.sessionTimeout = sessionTimeout
        self.heartbeatInterval = heartbeatInterval
        self.revocationTimeout = revocationTimeout
        self.bufferWatermarks = bufferWatermarks
        self.maxBatchSize = max(1, maxBatchSize)
    }

    var rdKafkaProperties: [String: String] {
        var result = self.client.rdKafkaProperties
        if let sessionTimeout = self.sessionTimeout {
            result["session.timeout.ms"] = String(sessionTimeout.milliseconds)
        }
        if let heartbeatInterval = self.heartbeatInterval {
            result["heartbeat.interval.ms"] = String(heartbeatInterval.milliseconds)
        }
        if result["auto.offset.reset"] == nil {
            result["auto.offset.reset"] = self.autoOffsetReset.rawValue
        }
        if result["partition.assignment.strategy"] == nil {
            result["partition.assignment.strategy"] = self.partitionAssignment.rawValue
        }
        // The wrapper's own semantics win over pass-through properties.
        result["group.id"] = self.groupID
        result["enable.auto.commit"] = "false"
        result["enable.auto.offset.store"] = "false"
        result["enable.partition.eof"] = "false"
        return result
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, at least 0.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
