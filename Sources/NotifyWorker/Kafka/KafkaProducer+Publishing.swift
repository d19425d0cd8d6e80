import Foundation
import Kafka
import Logging
import NotifyCore

extension KafkaProducerMessage {
    /// The dead-letter copy of `original` (product §2): its key, value and
    /// headers untouched, plus the `dlq.*` headers that say why. `trace`
    /// (the worker's `traceparent`/`tracestate` for the record, product §11)
    /// replaces the record's own W3C headers, which were its parent; the
    /// CloudEvents `ce_traceparent` attribute stays as it was.
    static func deadLetter(
        of original: KafkaConsumerMessage, to topic: String, code: String, message: String, workerID: String,
        trace: [KafkaHeader] = []
    ) -> KafkaProducerMessage {
        var headers = original.headers
        if !trace.isEmpty {
            headers.removeAll { ["traceparent", "tracestate"].contains($0.key.lowercased()) }
            headers.append(contentsOf: trace)
        }
        headers.append(KafkaHeader(key: DeadLetterHeader.errorCode, string: code))
        headers.append(KafkaHeader(key: DeadLetterHeader.errorMessage, string: message))
        headers.append(KafkaHeader(key: DeadLetterHeader.sourceTopic, string: original.topic))
        headers.append(KafkaHeader(key: DeadLetterHeader.sourcePartition, string: String(original.partition)))
        headers.append(KafkaHeader(key: DeadLetterHeader.sourceOffset, string: String(original.offset)))
        headers.append(KafkaHeader(key: DeadLetterHeader.failedAt, string: RFC3339.format(Date())))
        headers.append(KafkaHeader(key: DeadLetterHeader.workerId, string: workerID))
        return KafkaProducerMessage(topic: topic, key: original.key, value: original.value, headers: headers)
    }
}

extension KafkaProducer {
    /// Sends until Kafka acknowledges (a failed send is logged and retried,
    /// 100 ms doubling to 5 s: a record the worker owes is never dropped).
    /// `false` when the producer shut down or the task was cancelled first.
    func sendRetrying(_ message: KafkaProducerMessage, what: String, logger: Logger) async -> Bool {
        var backoff: Duration = .milliseconds(100)
        while !Task.isCancelled {
            do {
                _ = try await self.send(message)
                return true
            } catch {
                let code = (error as? KafkaError)?.code ?? "kafka.unknown"
                if code == "kafka.shutdown" { return false }
                logger.warning("publishing a \(what) failed; retrying", metadata: [LogKey.errorCode: "\(code)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        return false
    }
}
