import ArgumentParser
import Foundation
import NotifyWorker

/// The `aicc-notify` command line. Each subcommand lives in its own
/// `…Command.swift` file and calls into the library targets; nothing else
/// belongs in the executable.
///
/// Exit codes, the same for every subcommand: 0 success, 1 a check failed
/// (e.g. `validate` found invalid requests), 2 usage or configuration error.
@main
struct AICCNotify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aicc-notify",
        abstract: "Turns notification-request events on Kafka into Huawei AICC voice calls.",
        discussion: "Exit codes: 0 success, 1 a check failed, 2 usage or configuration error.",
        version: BuildInfo.version,
        subcommands: [
            RunCommand.self,
            DemoCommand.self,
            KafkaMockCommand.self,
            ValidateCommand.self,
            RouteCommand.self,
            SimulateAICCCommand.self,
            DeadLetterCommand.self,
            BenchCommand.self,
        ]
    )

    /// ArgumentParser's own entry point, with usage errors mapped to exit
    /// code 2 (ArgumentParser would use 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                // One form for every message: `aicc-notify: <code>: <message>`, then the usage.
                let usage = fullMessage(for: error).split(separator: "\n").drop { !$0.hasPrefix("Usage:") }
                var text = "aicc-notify: usage: \(message(for: error))\n"
                if !usage.isEmpty { text += usage.joined(separator: "\n") + "\n" }
                FileHandle.standardError.write(Data(text.utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
