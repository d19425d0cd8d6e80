import ArgumentParser

// PLACEHOLDER: replaced by the issue that builds `kafka-mock`.
struct KafkaMockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kafka-mock")
    func run() async throws { throw ExitCode(2) }
}
