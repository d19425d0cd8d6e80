import CRDKafka
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Owns one `rd_kafka_t` and the context its C callbacks reach through
/// `Unmanaged`. Every librdkafka call of the producer and consumer goes
/// through this type or its siblings in this folder.
final class RDKafkaClient: Sendable {
    enum Kind {
        case producer
        case consumer
    }

    /// What the C log callback needs; retained for the handle's lifetime.
    final class CallbackContext: Sendable {
        let logger: Logger
        init(logger: Logger) { self.logger = logger }
    }

    private let handleBox: NIOLockedValueBox<SendableOpaquePointer?>
    /// Held by the blocking calls made from outside the poll loop (metadata,
    /// watermarks: ``withLiveHandle(_:)``) and by ``destroy()``, so that the
    /// handle is never destroyed under one of them.
    private let liveCalls = NIOLock()
    private let context: Unmanaged<CallbackContext>
    let logger: Logger
    let kind: Kind

    /// The handle; valid until ``destroy()``.
    var handle: OpaquePointer {
        guard let handle = self.handleBox.withLockedValue({ $0 }) else {
            preconditionFailure("librdkafka handle used after destroy")
        }
        return handle.pointer
    }

    /// Creates the handle. `events` is the `RD_KAFKA_EVENT_*` mask that the
    /// application serves through a queue (event API instead of callbacks).
    init(kind: Kind, properties: [String: String], events: Int32, logger: Logger) throws(KafkaError) {
        let conf = try RDKafkaConfig.make(properties)
        let context = Unmanaged.passRetained(CallbackContext(logger: logger))
        rd_kafka_conf_set_opaque(conf, context.toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
            let context = Unmanaged<CallbackContext>.fromOpaque(opaque).takeUnretainedValue()
            let facility = facility.map { String(cString: $0) } ?? "?"
            let text = message.map { String(cString: $0) } ?? ""
            context.logger.log(
                level: RDKafkaClient.logLevel(syslog: level),
                "\(text)",
                metadata: ["kafka.facility": "\(facility)"]
            )
        }
        rd_kafka_conf_set_events(conf, events)
        var errorBuffer = [CChar](repeating: 0, count: 512)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
            // On failure the configuration is still ours.
            rd_kafka_conf_destroy(conf)
            context.release()
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError.invalidConfiguration(detail)
        }
        self.handleBox = NIOLockedValueBox(SendableOpaquePointer(handle))
        self.context = context
        self.logger = logger
        self.kind = kind
    }

    deinit {
        self.destroy()
    }

    /// Destroys the handle (blocking: run it off the cooperative pool). Safe to
    /// call more than once.
    func destroy() {
        // Waits for a metadata or watermarks call under way (each bounded by its timeout).
        self.liveCalls.lock()
        defer { self.liveCalls.unlock() }
        guard let handle = self.handleBox.withLockedValue({ value -> SendableOpaquePointer? in
            defer { value = nil }
            return value
        }) else { return }
        rd_kafka_destroy(handle.pointer)
        self.context.release()
    }

    /// Runs a blocking call (`body`) with the handle, which ``destroy()``
    /// waits for; throws `kafka.shutdown` if the client is already destroyed.
    /// Call it on the blocking pool. Calls are serialized: they are rare
    /// (start-up, readiness, replay), and each is bounded by its timeout.
    func withLiveHandle<Result>(_ body: (OpaquePointer) throws(KafkaError) -> Result) throws(KafkaError) -> Result {
        self.liveCalls.lock()
        defer { self.liveCalls.unlock() }
        guard let handle = self.handleBox.withLockedValue({ $0 }) else {
            throw KafkaError.shutDown("the Kafka client is closed")
        }
        return try body(handle.pointer)
    }

    /// The value librdkafka holds for a configuration property (`nil` for a
    /// name it does not know, or after ``destroy()``).
    func configurationValue(_ name: String) -> String? {
        guard let handle = self.handleBox.withLockedValue({ $0 }) else { return nil }
        guard let conf = rd_kafka_conf(handle.pointer) else { return nil }
        var size = 0
        guard rd_kafka_conf_get(conf, name, nil, &size) == RD_KAFKA_CONF_OK, size > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: size)
        guard rd_kafka_conf_get(conf, name, &buffer, &size) == RD_KAFKA_CONF_OK else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The queue the client's events arrive on. For a consumer this is the
    /// consumer queue with the main queue forwarded into it.
    func makeEventQueue() -> SendableOpaquePointer {
        switch self.kind {
        case .producer:
            return SendableOpaquePointer(rd_kafka_queue_get_main(self.handle))
        case .consumer:
            rd_kafka_poll_set_consumer(self.handle)
            return SendableOpaquePointer(rd_kafka_queue_get_consumer(self.handle))
        }
    }

    /// Maps syslog levels (librdkafka's) to swift-log levels. librdkafka's
    /// informational chatter is debug here.
    static func logLevel(syslog level: Int32) -> Logger.Level {
        switch level {
        case 0...3: return .error
        case 4: return .warning
        case 5: return .notice
        case 6: return .info
        default: return .debug
        }
    }
}

extension RDKafkaClient {
    /// What a producer's or consumer's `run()` does: serve the client's event
    /// queue with `loop` on a thread of its own until `loop` returns, calling
    /// `onGracefulShutdown` when the service group shuts down (the loop then
    /// drains or closes and returns).
    func serveEventQueue(
        onGracefulShutdown: @escaping @Sendable () -> Void,
        loop: @escaping @Sendable (SendableOpaquePointer) -> Void
    ) async throws {
        let queue = self.makeEventQueue()
        // Cancellation (a sibling service failed, or a shutdown escalated)
        // ends the loop the same bounded way a graceful shutdown does: the
        // dedicated thread does not see task cancellation by itself.
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await BlockingLoop.runOnDedicatedThread { loop(queue) }
            } onGracefulShutdown: {
                onGracefulShutdown()
            }
        } onCancel: {
            onGracefulShutdown()
        }
    }
}
