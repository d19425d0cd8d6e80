/// Invalid configuration: the process stops at start with this message and
/// exit code 2. The message names the key (and the environment variable or
/// file it came from when that helps), never a secret's value.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable code: `config.missing`, `config.invalid`, `config.unknown`, `config.file`.
    public var code: String
    /// The configuration key, e.g. `aicc.timeout`; `nil` for file errors.
    public var key: String?
    public var message: String

    public var description: String {
        if let key, !self.message.contains(key) { return "\(key): \(self.message)" }
        return self.message
    }

    static func missing(_ key: String) -> ConfigurationError {
        ConfigurationError(code: "config.missing", key: key, message: WorkerConfiguration.missingMessage([key]))
    }

    static func invalid(_ key: String, _ expectation: String) -> ConfigurationError {
        ConfigurationError(code: "config.invalid", key: key, message: expectation)
    }

    static func file(_ message: String) -> ConfigurationError {
        ConfigurationError(code: "config.file", key: nil, message: message)
    }
}
