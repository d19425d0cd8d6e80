import Foundation

/// Everything the worker reads at start, one `Sendable` tree. Every key is
/// documented here and in the README (key, type, default, meaning); the
/// contract is `product.md` §6. Loaded once by
/// ``WorkerConfiguration/load(configFile:environment:)`` and validated before
/// anything starts.
public struct WorkerConfiguration: Sendable, Equatable {
    public var worker = Worker()
    public var kafka = Kafka()
    public var aicc: AICC
    public var retry = Retry()
    public var dispatch = Dispatch()
    public var store = Store()
    public var http = HTTP()
    public var callback = Callback()
    public var log = Log()
    public var routing = Routing()
    public var tracing = Tracing()

    public init(aicc: AICC) {
        self.aicc = aicc
    }

    /// `worker.*`
    public struct Worker: Sendable, Equatable {
        /// `worker.id`: this worker's stable name: the owner of its claims in
        /// the idempotency store (with a per-start incarnation) and the
        /// `dlq.worker.id` header. Give each replica its own (the pod name).
        /// Default: the host name.
        public var id = ProcessInfo.processInfo.hostName

        public init() {}
    }

    /// `kafka.*`
    public struct Kafka: Sendable, Equatable {
        /// `kafka.bootstrapServers`: brokers. Default `localhost:9092`.
        public var bootstrapServers = "localhost:9092"
        /// `kafka.groupId`: the consumer group. Default `aicc-notify`.
        public var groupID = "aicc-notify"
        /// `kafka.autoOffsetReset`: where a new group starts, `earliest` or
        /// `latest`. Default `earliest`: requests produced before the first
        /// start are not lost.
        public var autoOffsetReset = OffsetReset.earliest
        /// `kafka.deliveryTimeout`: seconds a produced record may wait for
        /// the brokers before its send fails, > 0. Results are then sent again
        /// (the worker never drops one); a status report is answered 503 so
        /// that AICC retries it. Default 30.
        public var deliveryTimeout = 30.0
        /// `kafka.topics.*`
        public var topics = Topics()
        /// `kafka.properties`: pass-through librdkafka properties. The
        /// worker's own consumer settings (group, commits, offset store) win.
        /// Default: none.
        public var properties: [String: String] = [:]
        /// `kafka.cloudEvents.types`: the CloudEvent `type`s accepted as
        /// notification-requests (product §3); in a file a list of strings,
        /// in the environment `a,b`. Default `nil`: any type whose data is a
        /// request. An event refused for its type is dead-lettered
        /// (`cloudevents.type`) and gets a `rejected` result under its id.
        public var cloudEventTypes: Set<String>?

        public init() {}

        public enum OffsetReset: String, Sendable, Equatable, CaseIterable {
            case earliest, latest
        }

        /// Topic names (`product.md` §2).
        public struct Topics: Sendable, Equatable {
            /// `kafka.topics.requests`. Default `notification.requests`.
            public var requests = "notification.requests"
            /// `kafka.topics.results`. Default `notification.results`.
            public var results = "notification.results"
            /// `kafka.topics.callbacks`. Default `notification.callbacks`.
            public var callbacks = "notification.callbacks"
            /// `kafka.topics.deadLetter`. Default `notification.requests.dlq`.
            public var deadLetter = "notification.requests.dlq"
            /// `kafka.topics.alerts`: alert records, consumed only with
            /// `routing.file` set (product §9). Default `alerts`.
            public var alerts = "alerts"
            /// `kafka.topics.escalations`: escalation events, produced only
            /// when a route has `escalate` (product §12). Default
            /// `notification.escalations`.
            public var escalations = "notification.escalations"

            public init() {}
        }
    }

    /// `aicc.*`
    public struct AICC: Sendable, Equatable {
        /// `aicc.baseURL`: e.g. `https://service.besclouds.com`. Required.
        public var baseURL: String
        /// `aicc.appKey`. Required.
        public var appKey: String
        /// `aicc.appSecret`. Required; a secret (`…_FILE` allowed), never logged.
        public var appSecret: String
        /// `aicc.tokenLifetime`: seconds asked in `X-Token-Expire`, 1–3600. Default 3600.
        public var tokenLifetime = 3600
        /// `aicc.timeout`: seconds per call, > 0. Default 10.
        public var timeout = 10.0
        /// `aicc.maxConcurrency`: calls in flight to AICC, ≥ 1. Default 64.
        public var maxConcurrency = 64
        /// `aicc.callsPerSecond`: call-rate ceiling, > 0. Default 50.
        public var callsPerSecond = 50.0

        public init(baseURL: String, appKey: String, appSecret: String) {
            self.baseURL = baseURL
            self.appKey = appKey
            self.appSecret = appSecret
        }
    }

    /// `retry.*`
    public struct Retry: Sendable, Equatable {
        /// `retry.maxAttempts`: per request, ≥ 1. Default 8.
        public var maxAttempts = 8
        /// `retry.initialBackoff`: seconds, > 0 (decimals allowed). Default 1.
        public var initialBackoff = 1.0
        /// `retry.maxBackoff`: seconds, ≥ `initialBackoff`. Default 60.
        public var maxBackoff = 60.0

        public init() {}
    }

    /// `dispatch.*`
    public struct Dispatch: Sendable, Equatable {
        /// `dispatch.maxInFlight`: records in flight per process, ≥ 1. Default 1024.
        public var maxInFlight = 1024
        /// `dispatch.inDoubtPolicy`: `report` or `retry`. Default `report`.
        public var inDoubtPolicy = InDoubtPolicy.report
        /// `dispatch.drainTimeout`: seconds that shutdown and partition
        /// revocation wait for in-flight records to finish before abandoning
        /// them (their claims stay; the next owner finds them), > 0. Default 30.
        public var drainTimeout = 30.0
        /// `dispatch.claimLease`: seconds a claim stays live without renewal,
        /// > 0. The worker renews it every third of this while a call is out;
        /// another worker meeting a live claim waits instead of calling. After a
        /// crash, a claim is in doubt for other workers once this passes (the
        /// same `worker.id` restarted knows at once). Default 30.
        public var claimLease = 30.0
        /// `dispatch.storm.*`: the per-number call budget (product §10).
        public var storm = Storm()

        public init() {}

        /// `dispatch.storm.*`
        public struct Storm: Sendable, Equatable {
            /// `dispatch.storm.window`: seconds of the trailing window, ≥ 0;
            /// 0 turns the budget off. Default 0 (off).
            public var window = 0.0
            /// `dispatch.storm.burst`: calls to one number allowed in the
            /// window, ≥ 1. Default 3.
            public var burst = 3
            /// `dispatch.storm.bypassPriority`: requests with `priority` at or
            /// under this (1 is highest) are always called and do not count,
            /// 0–9. Default 0 (none).
            public var bypassPriority = 0

            public init() {}
        }

        /// What to do with a claim whose call may or may not have reached AICC.
        public enum InDoubtPolicy: String, Sendable, Equatable, CaseIterable {
            /// Publish `indeterminate`; never call again.
            case report
            /// Call again (at most one extra call per in-doubt key).
            case retry
        }
    }

    /// `store.*`
    public struct Store: Sendable, Equatable {
        /// `store.url`: `sqlite:PATH` (absolute, or relative to the working
        /// directory) or `postgres://user:pass@host:port/db` (a secret when it
        /// carries a password; `…_FILE` allowed). Default `sqlite:aicc-notify.db`.
        public var url = "sqlite:aicc-notify.db"
        /// `store.retention`: seconds an idempotency key is remembered, ≥ 1. Default 604800 (7 days).
        public var retention = 604_800

        public init() {}
    }

    /// `http.*`
    public struct HTTP: Sendable, Equatable {
        /// `http.listen`: `HOST:PORT` for callbacks, `/metrics`, `/healthz`,
        /// `/readyz`. Default `0.0.0.0:8080`.
        public var host = "0.0.0.0"
        public var port = 8080

        public init() {}
    }

    /// `callback.*`
    public struct Callback: Sendable, Equatable {
        /// `callback.publicBaseURL`: the URL AICC can reach; only letters,
        /// digits and `-:./_#?&`. Unset: no status callbacks.
        public var publicBaseURL: String?
        /// `callback.secret`: MAC key for callback URLs, ≥ 16 characters.
        /// Required when callbacks are on; a secret.
        public var secret: String?
        /// `callback.sharedKey`: the tenant's AICC callback shared key
        /// (≥ 16 characters); reports must then carry a valid vendor signature.
        /// Unset by default; a secret.
        public var sharedKey: String?

        public init() {}

        /// Whether the worker asks AICC for status reports.
        public var isEnabled: Bool { self.publicBaseURL != nil }
    }

    /// `routing.*`
    public struct Routing: Sendable, Equatable {
        /// `routing.file`: the alert routing rules (YAML, product §9); with
        /// it the worker also consumes `kafka.topics.alerts`. Default unset (off).
        public var file: String?
        /// `routing.keySecret` (secret, `_FILE` allowed, ≥ 16 characters):
        /// routed requests' idempotency keys are HMAC-SHA256 under it, so
        /// that a key cannot be brute-forced back to a phone number from the
        /// alert's other inputs. Default unset: plain SHA-256 keys (as before
        /// the setting existed). Changing it changes every routed key.
        public var keySecret: String?

        public init() {}
    }

    /// `tracing.*`
    public struct Tracing: Sendable, Equatable {
        /// `tracing.otlpEndpoint`: the OpenTelemetry collector's OTLP/HTTP
        /// base URL (e.g. `http://otel-collector:4318`); spans go to
        /// `<base>/v1/traces` (product §11). The standard
        /// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) also turns
        /// export on and wins over this key, as `OTEL_SERVICE_NAME` wins over
        /// the service name `aicc-notify`. Default unset: no export (the
        /// trace context still flows from records to records and logs).
        public var otlpEndpoint: String?

        public init() {}
    }

    /// `log.*`
    public struct Log: Sendable, Equatable {
        /// `log.level`: trace, debug, info, notice, warning, error, critical. Default `info`.
        public var level = Level.info
        /// `log.format`: `text` or `json`. Default `text`.
        public var format = Format.text

        public init() {}

        public enum Level: String, Sendable, Equatable, CaseIterable {
            case trace, debug, info, notice, warning, error, critical
        }

        public enum Format: String, Sendable, Equatable, CaseIterable {
            case text, json
        }
    }
}

extension WorkerConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The keys a configuration log line may show; never a secret (see
    /// ``secretKeys``), whatever prints the configuration.
    public var description: String {
        "WorkerConfiguration(worker.id: \(self.worker.id), kafka.groupId: \(self.kafka.groupID), "
            + "kafka.topics.requests: \(self.kafka.topics.requests), aicc.baseURL: \(self.aicc.baseURL), "
            + "store: \(self.store.url.hasPrefix("sqlite:") ? self.store.url : "postgres (url redacted)"), secrets: redacted)"
    }

    public var debugDescription: String { self.description }

    /// Mirrors show the redacted description only (so `dump` and
    /// `String(reflecting:)` of a containing value cannot reveal a secret).
    public var customMirror: Mirror { Mirror(self, children: ["redacted": self.description]) }
}
