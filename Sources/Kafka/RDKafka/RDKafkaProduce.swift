import CRDKafka
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `rd_kafka_produceva` for one ``KafkaProducerMessage``. librdkafka copies
/// every buffer (`RD_KAFKA_MSG_F_COPY`), so nothing needs to outlive the call.
enum RDKafkaProduce {
    /// Enqueues the message; the delivery report arrives later as an
    /// `RD_KAFKA_EVENT_DR` carrying `opaque`. Returns the error if librdkafka
    /// refused to enqueue it.
    static func produce(handle: OpaquePointer, message: KafkaProducerMessage, opaque: UInt) -> KafkaError? {
        var strings: [UnsafeMutablePointer<CChar>] = []
        defer { strings.forEach { free($0) } }
        func cString(_ string: String) -> UnsafePointer<CChar> {
            let pointer = strdup(string)!
            strings.append(pointer)
            return UnsafePointer(pointer)
        }

        return message.value.withUnsafeBytes { value in
            (message.key ?? []).withUnsafeBytes { key in
                var items: [rd_kafka_vu_t] = []
                items.reserveCapacity(6 + message.headers.count)

                var topic = rd_kafka_vu_t()
                topic.vtype = RD_KAFKA_VTYPE_TOPIC
                topic.u.cstr = cString(message.topic)
                items.append(topic)

                var flags = rd_kafka_vu_t()
                flags.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                flags.u.i = RD_KAFKA_MSG_F_COPY
                items.append(flags)

                var payload = rd_kafka_vu_t()
                payload.vtype = RD_KAFKA_VTYPE_VALUE
                payload.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                payload.u.mem.size = value.count
                items.append(payload)

                if message.key != nil {
                    var keyItem = rd_kafka_vu_t()
                    keyItem.vtype = RD_KAFKA_VTYPE_KEY
                    keyItem.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                    keyItem.u.mem.size = key.count
                    items.append(keyItem)
                }

                if let partition = message.partition {
                    var partitionItem = rd_kafka_vu_t()
                    partitionItem.vtype = RD_KAFKA_VTYPE_PARTITION
                    partitionItem.u.i32 = partition
                    items.append(partitionItem)
                }

                var opaqueItem = rd_kafka_vu_t()
                opaqueItem.vtype = RD_KAFKA_VTYPE_OPAQUE
                opaqueItem.u.ptr = UnsafeMutableRawPointer(bitPattern: opaque)
                items.append(opaqueItem)

                // Header values are copied by librdkafka during the call.
                var headerValues: [UnsafeMutableRawPointer] = []
                defer { headerValues.forEach { free($0) } }
                for header in message.headers {
                    var item = rd_kafka_vu_t()
                    item.vtype = RD_KAFKA_VTYPE_HEADER
                    item.u.header.name = cString(header.key)
                    if let bytes = header.value {
                        let copy = malloc(max(1, bytes.count))!
                        bytes.withUnsafeBytes { source in
                            if let base = source.baseAddress { copy.copyMemory(from: base, byteCount: bytes.count) }
                        }
                        headerValues.append(copy)
                        item.u.header.val = UnsafeRawPointer(copy)
                        item.u.header.size = bytes.count
                    } else {
                        item.u.header.val = nil
                        item.u.header.size = 0
                    }
                    items.append(item)
                }

                guard let error = rd_kafka_produceva(handle, items, items.count) else { return nil }
                return KafkaError(consuming: error, context: "produce to \(message.topic)")
            }
        }
    }
}
