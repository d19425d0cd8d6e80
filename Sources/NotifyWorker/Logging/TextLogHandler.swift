public import Logging
import NIOConcurrencyHelpers
import Foundation
import NotifyCore

/// A swift-log handler for `log.format: text`: one line per event,
/// `TIMESTAMP LEVEL LABEL: MESSAGE key=value key="a value"`, metadata keys
/// sorted.
///
/// Unlike swift-log's `StreamLogHandler`, it escapes what it writes: a value
/// that is empty or holds a space, `"`, `=`, `\`, a control or a non-ASCII
/// character is written as a JSON string literal, so a producer's identifier
/// (`requestId` may be any string, product §3) can neither forge a line nor
/// blur where one value ends. Values are written as logged otherwise: callers
/// mask phone numbers and never log secrets.
public struct TextLogHandler: LogHandler {
    /// Where lines go: standard error by default; tests pass a closure.
    public typealias Sink = JSONLogHandler.Sink

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: Sink

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, sink: @escaping Sink = JSONLogHandler.standardError) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = event.mergedMetadata(handler: self.metadata, provider: self.metadataProvider)

        // RFC 3339 with milliseconds, UTC, formatted by arithmetic, with no
        // Foundation formatter per line (issue #25).
        var line = RFC3339.format(Date())
        line += " " + event.level.rawValue + " " + self.label + ": "
        line += Self.escapedMessage(event.message.description)
        for key in merged.keys.sorted() {
            line += " " + key + "="
            Self.append(merged[key]!, to: &line)
        }
        line += "\n"
        self.sink(line)
    }

    /// The message on one line: line breaks and other controls escaped.
    static func escapedMessage(_ message: String) -> String {
        guard message.unicodeScalars.contains(where: Self.isControl) else { return message }
        var quoted = ""
        JSONLogHandler.appendString(message, to: &quoted)
        return String(quoted.dropFirst().dropLast())
    }

    private static func append(_ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let string):
            Self.appendValue(string, to: &line)
        case .stringConvertible(let convertible):
            Self.appendValue(convertible.description, to: &line)
        case .array, .dictionary:
            // Nested metadata: its JSON form, as one quoted value.
            var json = ""
            Self.appendJSON(value, to: &json)
            JSONLogHandler.appendString(json, to: &line)
        }
    }

    /// A bare value when it is plain, else a JSON string literal.
    static func appendValue(_ value: String, to line: inout String) {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value < 0x7F && scalar != "\"" && scalar != "=" && scalar != "\\"
        }
        if plain { line += value } else { JSONLogHandler.appendString(value, to: &line) }
    }

    private static func appendJSON(_ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let string): JSONLogHandler.appendString(string, to: &line)
        case .stringConvertible(let convertible): JSONLogHandler.appendString(convertible.description, to: &line)
        case .array(let values):
            line += "[" + values.map { element in
                var part = ""
                Self.appendJSON(element, to: &part)
                return part
            }.joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            line += "{" + dictionary.keys.sorted().map { key in
                var part = ""
                JSONLogHandler.appendString(key, to: &part)
                part += ":"
                Self.appendJSON(dictionary[key]!, to: &part)
                return part
            }.joined(separator: ",") + "}"
        }
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || (0x2028...0x2029).contains(scalar.value)
    }
}
