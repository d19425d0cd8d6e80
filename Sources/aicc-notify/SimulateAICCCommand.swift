import ArgumentParser

// PLACEHOLDER: replaced by the issue that builds `simulate-aicc`.
struct SimulateAICCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "simulate-aicc")
    func run() async throws { throw ExitCode(2) }
}
