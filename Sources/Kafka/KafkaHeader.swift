/// A Kafka record header. Values may be absent (`nil`), which Kafka
/// distinguishes from an empty value.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    /// A header with a UTF-8 string value.
    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }

    /// The value decoded as UTF-8, if it is valid UTF-8.
    public var stringValue: String? {
        self.value.flatMap { String(validating: $0, as: UTF8.self) }
    }
}

extension Array where Element == KafkaHeader {
    /// The value of the last header with this key (Kafka allows repeats; the
    /// last one wins, as in the CloudEvents Kafka binding).
    public func value(forKey key: String) -> [UInt8]? {
        self.last(where: { $0.key == key })?.value
    }
}
