import Configuration
import Kafka
import Foundation
import SystemPackage
import Yams

extension WorkerConfiguration {
    /// Environment variables that configure the worker start with this.
    public static let environmentPrefix = "AICC_NOTIFY_"

    /// Keys whose values are secrets: never logged, and readable from a file
    /// named by the variable with `_FILE` appended.
    public static let secretKeys: Set<String> = ["aicc.appSecret", "callback.secret", "callback.sharedKey", "store.url", "routing.keySecret"]

    /// The environment variable for a key: prefix, then the key's dots and
    /// camel-case humps as underscores, upper case
    /// (`kafka.bootstrapServers` → `AICC_NOTIFY_KAFKA_BOOTSTRAP_SERVERS`).
    public static func environmentVariable(for key: String) -> String {
        var result = Self.environmentPrefix
        var previous: Character?
        for character in key {
            if character == "." {
                result.append("_")
            } else {
                if let previous, previous.isLowercase, character.isUppercase { result.append("_") }
                result.append(contentsOf: character.uppercased())
            }
            previous = character
        }
        return result
    }

    /// Reads the configuration: the optional file (`.json`, `.yaml`, `.yml`),
    /// then `AICC_NOTIFY_*` environment variables, which override it; a
    /// secret may come from the file named by `AICC_NOTIFY_…_FILE`. Throws
    /// ``ConfigurationError`` naming the first invalid or missing key.
    public static func load(configFile: String?, environment: [String: String]) async throws(ConfigurationError) -> WorkerConfiguration {
        let variables = try Self.resolveEnvironment(environment)
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(
                environmentVariables: variables,
                secretsSpecifier: .specific(Set(Self.secretKeys.map { String(Self.environmentVariable(for: $0).dropFirst(Self.environmentPrefix.count)) }))
            )
        ]
        var fileProperties: [String: String] = [:]
        var fileKeys: [String] = []
        if let configFile {
            let (provider, properties, keys) = try await Self.fileProvider(configFile)
            providers.append(provider)
            fileProperties = properties
            fileKeys = keys
        }
        // A misspelt key is an error, not a silent default.
        try Self.checkKnown(fileKeys: fileKeys, file: configFile, variables: Array(variables.keys))
        let reader = KeyReader(config: ConfigReader(providers: providers))

        // Every missing required key at once, not one per run.
        let missing = Self.requiredKeys.filter { !reader.isPresent($0) }
        if !missing.isEmpty {
            throw ConfigurationError(code: "config.missing", key: missing.count == 1 ? missing[0] : nil, message: Self.missingMessage(missing))
        }
        var configuration = WorkerConfiguration(aicc: AICC(
            baseURL: try reader.requiredString("aicc.baseURL"),
            appKey: try reader.requiredString("aicc.appKey"),
            appSecret: try reader.requiredString("aicc.appSecret", secret: true)
        ))
        try Self.check(configuration.aicc.baseURL, "aicc.baseURL", "must be an http(s) URL such as https://service.besclouds.com") {
            guard let url = URL(string: $0), let scheme = url.scheme?.lowercased(), url.host != nil else { return false }
            return scheme == "https" || scheme == "http"
        }

        // worker.*
        try reader.read("worker.id", into: &configuration.worker.id)

        // kafka.*
        try reader.read("kafka.bootstrapServers", into: &configuration.kafka.bootstrapServers)
        try reader.read("kafka.groupId", into: &configuration.kafka.groupID)
        try reader.readEnum("kafka.autoOffsetReset", into: &configuration.kafka.autoOffsetReset)
        try reader.read("kafka.deliveryTimeout", into: &configuration.kafka.deliveryTimeout, positive: true)
        try reader.read("kafka.topics.requests", into: &configuration.kafka.topics.requests)
        try reader.read("kafka.topics.results", into: &configuration.kafka.topics.results)
        try reader.read("kafka.topics.callbacks", into: &configuration.kafka.topics.callbacks)
        try reader.read("kafka.topics.deadLetter", into: &configuration.kafka.topics.deadLetter)
        try reader.read("kafka.topics.alerts", into: &configuration.kafka.topics.alerts)
        try reader.read("kafka.topics.escalations", into: &configuration.kafka.topics.escalations)
        configuration.kafka.cloudEventTypes = try reader.optionalStringList(
            "kafka.cloudEvents.types", example: "com.example.notification.request,com.example.page").map(Set.init)
        configuration.kafka.properties = fileProperties
        if let list = variables["KAFKA_PROPERTIES"] {
            for (name, value) in try Self.parsePropertyList(list) { configuration.kafka.properties[name] = value }
        }
        // librdkafka judges its own properties now, before anything opens
        // (the message names a rejected property, never its value).
        do {
            try KafkaClientConfiguration.validate(properties: configuration.kafka.properties)
        } catch {
            throw .invalid("kafka.properties", error.message)
        }

        // aicc.*
        try reader.read("aicc.tokenLifetime", into: &configuration.aicc.tokenLifetime, in: 1...3600)
        try reader.read("aicc.timeout", into: &configuration.aicc.timeout, positive: true)
        try reader.read("aicc.maxConcurrency", into: &configuration.aicc.maxConcurrency, in: 1...100_000)
        try reader.read("aicc.callsPerSecond", into: &configuration.aicc.callsPerSecond, positive: true)

        // retry.*, dispatch.*
        try reader.read("retry.maxAttempts", into: &configuration.retry.maxAttempts, in: 1...1000)
        try reader.read("retry.initialBackoff", into: &configuration.retry.initialBackoff, positive: true)
        try reader.read("retry.maxBackoff", into: &configuration.retry.maxBackoff, positive: true)
        if configuration.retry.maxBackoff < configuration.retry.initialBackoff {
            throw .invalid("retry.maxBackoff", "must be at least retry.initialBackoff (\(configuration.retry.initialBackoff))")
        }
        try reader.read("dispatch.maxInFlight", into: &configuration.dispatch.maxInFlight, in: 1...1_000_000)
        try reader.readEnum("dispatch.inDoubtPolicy", into: &configuration.dispatch.inDoubtPolicy)
        try reader.read("dispatch.drainTimeout", into: &configuration.dispatch.drainTimeout, positive: true)
        try reader.read("dispatch.claimLease", into: &configuration.dispatch.claimLease, positive: true)
        try reader.read("dispatch.storm.window", into: &configuration.dispatch.storm.window, positive: false)
        if configuration.dispatch.storm.window < 0 {
            throw .invalid("dispatch.storm.window", "must be 0 (off) or more seconds (is \(configuration.dispatch.storm.window))")
        }
        try reader.read("dispatch.storm.burst", into: &configuration.dispatch.storm.burst, in: 1...1_000_000)
        try reader.read("dispatch.storm.bypassPriority", into: &configuration.dispatch.storm.bypassPriority, in: 0...9)

        // store.*
        try reader.read("store.url", into: &configuration.store.url, secret: true)
        try Self.check(configuration.store.url, "store.url", "must be sqlite:PATH or postgres://user:pass@host:port/db") {
            ($0.hasPrefix("sqlite:") && $0.count > "sqlite:".count) || $0.hasPrefix("postgres://") || $0.hasPrefix("postgresql://")
        }
        try reader.read("store.retention", into: &configuration.store.retention, in: 1...Int(Int32.max))

        // http.*
        var listen = "\(configuration.http.host):\(configuration.http.port)"
        try reader.read("http.listen", into: &listen)
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw .invalid("http.listen", "must be HOST:PORT (or :PORT for all interfaces), e.g. 0.0.0.0:8080")
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        // `:PORT` listens on all interfaces, as Go and Prometheus tools read it.
        configuration.http.host = host.isEmpty ? "0.0.0.0" : host
        configuration.http.port = port

        // callback.*
        configuration.callback.publicBaseURL = try reader.optionalString("callback.publicBaseURL")
        configuration.callback.secret = try reader.optionalString("callback.secret", secret: true)
        configuration.callback.sharedKey = try reader.optionalString("callback.sharedKey", secret: true)
        if let base = configuration.callback.publicBaseURL {
            try Self.check(base, "callback.publicBaseURL", "must be an http(s) URL of only letters, digits and -:./_#?& (AICC's rule)") {
                let allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
                    .union(CharacterSet(charactersIn: "-:./_#?&"))
                return ($0.hasPrefix("https://") || $0.hasPrefix("http://")) && $0.unicodeScalars.allSatisfy(allowed.contains)
            }
            guard let secret = configuration.callback.secret else { throw .missing("callback.secret") }
            if secret.count < 16 { throw .invalid("callback.secret", "must be at least 16 characters") }
        }
        if let sharedKey = configuration.callback.sharedKey, sharedKey.count < 16 {
            throw .invalid("callback.sharedKey", "must be at least 16 characters (AICC signs only with such keys)")
        }

        // routing.*
        configuration.routing.file = try reader.optionalString("routing.file")
        configuration.routing.keySecret = try reader.optionalString("routing.keySecret", secret: true)
        if let secret = configuration.routing.keySecret, secret.count < 16 {
            throw .invalid("routing.keySecret", "must be at least 16 characters (is \(secret.count))")
        }

        // tracing.*
        configuration.tracing.otlpEndpoint = try reader.optionalString("tracing.otlpEndpoint")
        if let endpoint = configuration.tracing.otlpEndpoint {
            try Self.check(endpoint, "tracing.otlpEndpoint", "must be an http(s) URL, e.g. http://otel-collector:4318") {
                ($0.hasPrefix("http://") || $0.hasPrefix("https://")) && URL(string: $0)?.host != nil
            }
        }

        // log.*
        try reader.readEnum("log.level", into: &configuration.log.level)
        try reader.readEnum("log.format", into: &configuration.log.format)
        return configuration
    }

    // MARK: Pieces

    /// Strips the prefix and resolves `…_FILE` variables into their file's
    /// contents (one trailing newline removed).
    static func resolveEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> [String: String] {
        var variables: [String: String] = [:]
        let secretVariables = Set(Self.secretKeys.map { String(Self.environmentVariable(for: $0).dropFirst(Self.environmentPrefix.count)) })
        for (name, value) in environment where name.hasPrefix(Self.environmentPrefix) {
            let stripped = String(name.dropFirst(Self.environmentPrefix.count))
            // Only a secret's variable has a `_FILE` form (`ROUTING_FILE` is `routing.file` itself).
            guard stripped.hasSuffix("_FILE"), secretVariables.contains(String(stripped.dropLast("_FILE".count))) else {
                variables[stripped] = value
                continue
            }
            let target = String(stripped.dropLast("_FILE".count))
            guard environment[Self.environmentPrefix + target] == nil else {
                throw ConfigurationError(code: "config.invalid", key: nil, message: "both \(Self.environmentPrefix + target) and \(name) are set; set one")
            }
            guard let data = FileManager.default.contents(atPath: value), var contents = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(code: "config.file", key: nil, message: "\(name): cannot read the file '\(value)'")
            }
            if contents.hasSuffix("\r\n") { contents.removeLast(2) } else if contents.hasSuffix("\n") { contents.removeLast() }
            variables[target] = contents
        }
        return variables
    }

    /// `AICC_NOTIFY_KAFKA_PROPERTIES`: comma-separated `name=value`; a piece
    /// without `=` continues the previous value (`debug=cgrp,topic`).
    public static func parsePropertyList(_ list: String) throws(ConfigurationError) -> [(String, String)] {
        var result: [(String, String)] = []
        for piece in list.split(separator: ",", omittingEmptySubsequences: false) {
            if let equals = piece.firstIndex(of: "=") {
                let name = piece[..<equals].trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty else { throw .invalid("kafka.properties", "a property has no name (expected name=value,...)") }
                result.append((name, String(piece[piece.index(after: equals)...])))
            } else if !result.isEmpty {
                result[result.count - 1].1 += "," + piece
            } else if !piece.trimmingCharacters(in: .whitespaces).isEmpty {
                throw .invalid("kafka.properties", "expected name=value,... (the first piece has no '=')")
            }
        }
        return result
    }

    /// `names the required keys and the variables that set them`.
    static func missingMessage(_ keys: [String]) -> String {
        let list = keys.map { "\($0) (\(Self.environmentVariable(for: $0)))" }.joined(separator: ", ")
        return keys.count == 1 ? "required key \(list) is not set" : "required keys are not set: \(list)"
    }

    private static func fileProvider(_ path: String) async throws(ConfigurationError) -> (any ConfigProvider, [String: String], [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .file("cannot read the config file '\(path)'")
        }
        let lowercased = path.lowercased()
        let isYAML = lowercased.hasSuffix(".yaml") || lowercased.hasSuffix(".yml")
        guard isYAML || lowercased.hasSuffix(".json") else {
            throw .file("the config file '\(path)' must end in .json, .yaml or .yml")
        }
        // The document itself, for `kafka.properties` (an object whose names
        // contain dots, which the key-value providers cannot list).
        // JSON files are read strictly (no trailing commas, no duplicate
        // keys), and a syntax error says where it is.
        if !isYAML, let location = Self.jsonErrorLocation(data) {
            throw .file("the config file '\(path)' is not valid JSON: \(location)")
        }
        let document: Any?
        do {
            if isYAML {
                document = try Yams.load(yaml: String(decoding: data, as: UTF8.self))
            } else {
                document = try JSONSerialization.jsonObject(with: data)
            }
        } catch {
            if isYAML {
                let text = "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                throw .file("the config file '\(path)' is not valid YAML: \(text.joined(separator: " "))")
            }
            let location = Self.jsonErrorLocation(data) ?? "\(error)"
            throw .file("the config file '\(path)' is not valid JSON: \(location)")
        }
        guard let root = document as? [String: Any] else {
            throw .file("the config file '\(path)' must hold an object at the top level")
        }
        var properties: [String: String] = [:]
        if let kafka = root["kafka"] as? [String: Any], let raw = kafka["properties"] {
            guard let object = raw as? [String: Any] else {
                throw .invalid("kafka.properties", "must be an object of librdkafka property names to values")
            }
            for (name, value) in object {
                switch value {
                case let string as String: properties[name] = string
                case let number as NSNumber: properties[name] = number.stringValue
                case let bool as Bool: properties[name] = bool ? "true" : "false"
                default: throw .invalid("kafka.properties.\(name)", "must be a string, number or boolean")
                }
            }
        }
        do {
            let filePath = FilePath(path)
            let provider: any ConfigProvider = isYAML
                ? try await FileProvider<YAMLSnapshot>(filePath: filePath)
                : try await FileProvider<JSONSnapshot>(filePath: filePath)
            return (provider, properties, Self.leafKeys(of: root))
        } catch {
            throw .file("the config file '\(path)' cannot be read: \(error)")
        }
    }

    private static func check(_ value: String, _ key: String, _ expectation: String, _ isValid: (String) -> Bool) throws(ConfigurationError) {
        if !isValid(value) { throw .invalid(key, expectation) }
    }
}

/// Typed reads with the rule the product needs and swift-configuration's
/// lenient getters do not give: a key that is present but unreadable is an
/// error naming the key, never a silent default.
private struct KeyReader {
    let config: ConfigReader

    func isPresent(_ key: String) -> Bool {
        let key = ConfigKey(key)
        return self.config.string(forKey: key) != nil || self.config.int(forKey: key) != nil
            || self.config.double(forKey: key) != nil || self.config.bool(forKey: key) != nil
    }

    func requiredString(_ key: String, secret: Bool = false) throws(ConfigurationError) -> String {
        guard let value = try self.optionalString(key, secret: secret) else { throw .missing(key) }
        return value
    }

    func optionalString(_ key: String, secret: Bool = false) throws(ConfigurationError) -> String? {
        guard self.isPresent(key) else { return nil }
        guard let value = self.config.string(forKey: ConfigKey(key), isSecret: secret) else {
            throw .invalid(key, "must be a string")
        }
        guard !value.isEmpty else { throw .invalid(key, "must not be empty") }
        return value
    }

    /// A list of non-empty strings: an array in a file, `a,b` in the
    /// environment (or a file); `nil` when the key is absent.
    func optionalStringList(_ key: String, example: String) throws(ConfigurationError) -> [String]? {
        let configKey = ConfigKey(key)
        let items: [String]
        if let array = self.config.stringArray(forKey: configKey) {
            items = array.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        } else if let string = self.config.string(forKey: configKey) {
            items = string.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        } else if self.isPresent(key) {
            throw .invalid(key, "must be a list of strings, e.g. \(example)")
        } else {
            return nil
        }
        let names = items.map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, !names.contains(where: \.isEmpty) else {
            throw .invalid(key, "must be a list of non-empty names, e.g. \(example)")
        }
        return names
    }

    func read(_ key: String, into value: inout String, secret: Bool = false) throws(ConfigurationError) {
        if let string = try self.optionalString(key, secret: secret) { value = string }
    }

    func read(_ key: String, into value: inout Int, in range: ClosedRange<Int>) throws(ConfigurationError) {
        guard self.isPresent(key) else { return }
        let configKey = ConfigKey(key)
        guard let number = self.config.int(forKey: configKey) ?? self.config.string(forKey: configKey).flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw .invalid(key, "must be an integer")
        }
        guard range.contains(number) else { throw .invalid(key, "must be between \(range.lowerBound) and \(range.upperBound) (is \(number))") }
        value = number
    }

    func read(_ key: String, into value: inout Double, positive: Bool) throws(ConfigurationError) {
        guard self.isPresent(key) else { return }
        let configKey = ConfigKey(key)
        guard let number = self.config.double(forKey: configKey)
            ?? self.config.int(forKey: configKey).map(Double.init)
            ?? self.config.string(forKey: configKey).flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }),
            number.isFinite
        else {
            throw .invalid(key, "must be a number (decimals allowed)")
        }
        if positive && number <= 0 { throw .invalid(key, "must be greater than 0 (is \(number))") }
        value = number
    }

    func readEnum<Value: RawRepresentable & CaseIterable>(_ key: String, into value: inout Value) throws(ConfigurationError) where Value.RawValue == String {
        guard let string = try self.optionalString(key) else { return }
        guard let parsed = Value(rawValue: string) else {
            throw .invalid(key, "must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", ")) (is '\(string)')")
        }
        value = parsed
    }
}
