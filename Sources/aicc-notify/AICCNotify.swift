import ArgumentParser

/// The `aicc-notify` command line. Each subcommand lives in its own
/// `Command+Name.swift` file and calls into the library targets; nothing else
/// belongs in the executable.
@main
struct AICCNotify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aicc-notify",
        abstract: "Turns notification-request events on Kafka into Huawei AICC voice calls.",
        subcommands: [
            KafkaMockCommand.self,
            ValidateCommand.self,
            SimulateAICCCommand.self,
        ]
    )
}
