import ArgumentParser

// PLACEHOLDER: replaced by the issue that builds `validate`.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate")
    func run() async throws { throw ExitCode(2) }
}
