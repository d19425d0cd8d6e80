import ArgumentParser
import Logging

/// `--log-level` on every subcommand.
enum LogLevelArgument: String, ExpressibleByArgument, CaseIterable {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level { Logger.Level(rawValue: self.rawValue) ?? .info }
}

extension LogLevelArgument {
    /// Bootstraps swift-log once for the process: text lines on stderr at this level.
    func bootstrapStandardError() {
        let level = self.level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
