import Foundation
import NotifyCore

extension WorkerConfiguration {
    /// Every configuration key, as documented in the README's table (a test
    /// compares the two). A key in the config file or an `AICC_NOTIFY_*`
    /// variable outside this list is an error, never ignored.
    public static let knownKeys: [String] = [
        "worker.id",
        "kafka.bootstrapServers", "kafka.groupId", "kafka.autoOffsetReset", "kafka.deliveryTimeout",
        "kafka.topics.requests", "kafka.topics.results", "kafka.topics.callbacks", "kafka.topics.deadLetter",
        "kafka.topics.alerts", "kafka.topics.escalations", "routing.file", "routing.keySecret",
        "kafka.properties", "kafka.cloudEvents.types",
        "aicc.baseURL", "aicc.appKey", "aicc.appSecret", "aicc.tokenLifetime", "aicc.timeout", "aicc.maxConcurrency",
        "aicc.callsPerSecond",
        "retry.maxAttempts", "retry.initialBackoff", "retry.maxBackoff",
        "dispatch.maxInFlight", "dispatch.inDoubtPolicy", "dispatch.drainTimeout", "dispatch.claimLease",
        "dispatch.storm.window", "dispatch.storm.burst", "dispatch.storm.bypassPriority",
        "store.url", "store.retention",
        "http.listen",
        "callback.publicBaseURL", "callback.secret", "callback.sharedKey",
        "log.level", "log.format",
        "tracing.otlpEndpoint",
    ]

    /// Keys without a default: every missing one is reported at once.
    static let requiredKeys = ["aicc.baseURL", "aicc.appKey", "aicc.appSecret"]

    /// Unknown keys in the file and unknown `AICC_NOTIFY_*` variables, each
    /// with the nearest known one, as one `config.unknown` error.
    static func checkKnown(fileKeys: [String], file: String?, variables: [String]) throws(ConfigurationError) {
        let known = Set(Self.knownKeys)
        var problems: [String] = []
        for key in fileKeys.sorted() where !known.contains(key) {
            let nearest = Self.nearest(to: key, among: Self.knownKeys)
            problems.append("unknown key '\(key)' in \(file ?? "the config file") (nearest known key: '\(nearest)')")
        }
        let knownVariables = Dictionary(
            Self.knownKeys.map { (String(Self.environmentVariable(for: $0).dropFirst(Self.environmentPrefix.count)), $0) },
            uniquingKeysWith: { first, _ in first })
        for name in variables.sorted() where knownVariables[name] == nil {
            let nearest = Self.nearest(to: name, among: Array(knownVariables.keys))
            problems.append("unknown variable \(Self.environmentPrefix)\(name) (nearest known: \(Self.environmentPrefix)\(nearest))")
        }
        guard !problems.isEmpty else { return }
        throw ConfigurationError(code: "config.unknown", key: nil, message: problems.joined(separator: "; "))
    }

    /// The candidate with the smallest edit distance (case-insensitive; ties: the first).
    static func nearest(to word: String, among candidates: [String]) -> String {
        let target = Array(word.lowercased())
        var best = (distance: Int.max, candidate: candidates.first ?? "")
        for candidate in candidates.sorted() {
            let distance = Self.editDistance(target, Array(candidate.lowercased()))
            if distance < best.distance { best = (distance, candidate) }
        }
        return best.candidate
    }

    /// Levenshtein distance.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() {
                current[j + 1] = Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The dotted paths of every leaf in a config document (`kafka.properties`
    /// is free-form: its names are librdkafka's, checked by librdkafka).
    static func leafKeys(of object: [String: Any], prefix: String = "") -> [String] {
        var keys: [String] = []
        for (name, value) in object {
            let path = prefix.isEmpty ? name : prefix + "." + name
            if path == "kafka.properties" {
                keys.append(path)
            } else if let nested = value as? [String: Any] {
                keys += Self.leafKeys(of: nested, prefix: path)
            } else {
                keys.append(path)
            }
        }
        return keys
    }

    /// `line L, column C: reason` of a JSON syntax error, found by the strict
    /// parser the worker uses for requests (it reports the byte offset), or
    /// the reason alone (a duplicate key, with its path); `nil` for valid JSON.
    static func jsonErrorLocation(_ data: Data) -> String? {
        let bytes = Array(data)
        guard case .failure(let error) = StrictJSONParser(maxDepth: 64).parse(bytes) else { return nil }
        guard let range = error.message.range(of: " at byte "),
              let offset = Int(error.message[range.upperBound...].prefix { $0.isNumber })
        else {
            // Not a syntax error at a place: a duplicate key, too deep, not UTF-8.
            let key = error.path.isEmpty ? "" : " (\(error.path.dropFirst().replacingOccurrences(of: "/", with: ".")))"
            return error.message + key
        }
        let before = bytes.prefix(min(offset, bytes.count))
        let line = before.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        let column = String(decoding: before[lineStart...], as: UTF8.self).count + 1
        let reason = error.message[..<range.lowerBound].replacingOccurrences(of: "not JSON: ", with: "")
        return "line \(line), column \(column): \(reason)"
    }
}
