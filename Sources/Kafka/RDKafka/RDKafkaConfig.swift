import CRDKafka
import Logging

/// Builds an `rd_kafka_conf_t` from properties. Values are never echoed in
/// errors: a rejected property is named, its value is not (it may be a secret).
enum RDKafkaConfig {
    static func make(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError.invalidConfiguration("rd_kafka_conf_new failed")
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, name, value, &errorBuffer, errorBuffer.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                // librdkafka's own text quotes the value: say what is wrong without it.
                if result == RD_KAFKA_CONF_UNKNOWN {
                    throw KafkaError.invalidConfiguration("'\(name)' is not a librdkafka property")
                }
                throw KafkaError.invalidConfiguration("librdkafka rejected the value of '\(name)' (the value is not shown: it may be a secret; see librdkafka's CONFIGURATION.md for what it accepts)")
            }
        }
        return conf
    }

    /// Checks every property as ``make(_:)`` would, building nothing.
    static func validate(_ properties: [String: String]) throws(KafkaError) {
        rd_kafka_conf_destroy(try Self.make(properties))
    }
}
