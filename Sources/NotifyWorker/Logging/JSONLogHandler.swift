public import Logging
import NIOConcurrencyHelpers
import Foundation
import NotifyCore

/// A swift-log handler that writes one JSON object per line (`log.format:
/// json`): `ts` (RFC 3339, milliseconds, UTC), `level`, `label`, `msg`,
/// `source`, and the metadata under its dotted keys. Nested metadata is
/// written as nested JSON. Values are written as logged: callers mask phone
/// numbers (`PhoneNumberMask` in NotifyCore) and never log secrets.
public struct JSONLogHandler: LogHandler {
    /// Where lines go: standard error by default; tests pass a closure.
    public typealias Sink = @Sendable (String) -> Void

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

        var line = "{\"ts\":"
        JSONLogHandler.appendString(JSONLogHandler.timestamp(Date()), to: &line)
        line += ",\"level\":"
        JSONLogHandler.appendString(event.level.rawValue, to: &line)
        line += ",\"label\":"
        JSONLogHandler.appendString(self.label, to: &line)
        line += ",\"msg\":"
        JSONLogHandler.appendString(event.message.description, to: &line)
        line += ",\"source\":"
        JSONLogHandler.appendString(event.source, to: &line)
        for key in merged.keys.sorted() where !Self.reservedKeys.contains(key) {
            line += ","
            JSONLogHandler.appendString(key, to: &line)
            line += ":"
            JSONLogHandler.append(merged[key]!, to: &line)
        }
        line += "}\n"
        self.sink(line)
    }

    // MARK: Encoding

    private static func append(_ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let string):
            Self.appendString(string, to: &line)
        case .stringConvertible(let convertible):
            Self.appendString(convertible.description, to: &line)
        case .array(let values):
            line += "["
            for (index, element) in values.enumerated() {
                if index > 0 { line += "," }
                Self.append(element, to: &line)
            }
            line += "]"
        case .dictionary(let dictionary):
            line += "{"
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { line += "," }
                Self.appendString(key, to: &line)
                line += ":"
                Self.append(dictionary[key]!, to: &line)
            }
            line += "}"
        }
    }

    /// A JSON string literal (RFC 8259 escaping).
    static func appendString(_ string: String, to line: inout String) {
        JSONText.appendString(string, to: &line)
    }

    /// The keys of the line itself; metadata under these names is left out.
    private static let reservedKeys: Set<String> = ["ts", "level", "label", "msg", "source"]

    /// RFC 3339 with milliseconds, UTC, formatted by arithmetic, with no
    /// Foundation formatter per line (issue #25).
    private static func timestamp(_ date: Date) -> String {
        RFC3339.format(date)
    }

    /// Writes to standard error, one whole line per call.
    public static let standardError: Sink = { line in
        let data = Data(line.utf8)
        writeLock.withLock { FileHandle.standardError.write(data) }
    }

    private static let writeLock = NIOLock()
}

extension LogEvent {
    /// What both of the worker's handlers write: the handler's metadata, then
    /// the provider's, then the event's (later wins), and the error under `error`.
    func mergedMetadata(handler: Logger.Metadata, provider: Logger.MetadataProvider?) -> Logger.Metadata {
        var merged = handler
        if let provided = provider?.get(), !provided.isEmpty { merged.merge(provided) { _, new in new } }
        if let eventMetadata = self.metadata {
            if merged.isEmpty { merged = eventMetadata } else { merged.merge(eventMetadata) { _, new in new } }
        }
        if let error = self.error, merged["error"] == nil { merged["error"] = "\(error)" }
        return merged
    }
}
