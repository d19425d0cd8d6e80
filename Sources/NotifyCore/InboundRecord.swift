/// A Kafka-agnostic view of one input record: the value bytes and the headers.
/// The Kafka adapter builds one per consumed record; `NotifyCore` never sees Kafka.
public struct InboundRecord: Sendable, Hashable {
    /// One record header. Kafka allows a header without a value and repeated keys.
    public struct Header: Sendable, Hashable {
        /// Header name.
        public var key: String
        /// Header value, `nil` when the header has none.
        public var value: [UInt8]?

        /// Creates a header.
        public init(key: String, value: [UInt8]?) {
            self.key = key
            self.value = value
        }

        /// Creates a header with a UTF-8 string value.
        public init(_ key: String, _ value: String) {
            self.init(key: key, value: Array(value.utf8))
        }
    }

    /// The record value.
    public var value: [UInt8]
    /// The record headers, in record order.
    public var headers: [Header]

    /// Creates a record.
    public init(value: [UInt8], headers: [Header] = []) {
        self.value = value
        self.headers = headers
    }

    /// Creates a record from `(key, value)` pairs as Kafka clients hand them out.
    public init(value: [UInt8], headers: [(key: String, value: [UInt8]?)]) {
        self.init(value: value, headers: headers.map { Header(key: $0.key, value: $0.value) })
    }

    /// The last header whose name equals `name`, ignoring ASCII case (a later
    /// header overrides an earlier one, like Kafka clients' `lastHeader`).
    public func header(named name: String) -> Header? {
        let wanted = name.lowercased()
        return headers.last { $0.key.lowercased() == wanted }
    }
}
