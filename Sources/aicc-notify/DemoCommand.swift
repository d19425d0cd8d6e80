import ArgumentParser
import Foundation
import Logging
import NotifyDemo

/// `aicc-notify demo`: the worker end to end on an embedded default, no setup.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the worker on an in-process mock Kafka, the AICC simulator and a SQLite store, and show what happened.",
        discussion: """
            Produces a mix of requests — valid ones, a redelivery, a duplicate, a key reused for \
            other content, an expired one, an invalid one and a record that is not a request — \
            runs the real worker until each has its result or dead-letter record, prints one row \
            per record and a summary checked against what the simulator recorded, and exits 0 \
            (1 if the results do not match the simulator). Nothing outside the process is touched \
            but a temp directory, which is removed.
            """
    )

    @Option(help: "Valid, distinct requests to send (the mix adds 6 more records).")
    var count: Int = 12

    @Option(help: "Rate (0...1) of AICC answers that are transient faults, so that some requests are retried.")
    var faultRate: Double = 0.15

    @Option(help: "Log level on stderr.")
    var logLevel: LogLevelArgument = .error

    func validate() throws {
        guard (1...100_000).contains(self.count) else { throw ValidationError("--count must be between 1 and 100000") }
        guard (0...0.9).contains(self.faultRate) else { throw ValidationError("--fault-rate must be between 0 and 0.9") }
    }

    func run() async throws {
        self.logLevel.bootstrapStandardError()
        var options = Demo.Options()
        options.count = self.count
        options.transientFaultRate = self.faultRate
        options.timeout = .seconds(max(60, self.count / 10))
        let demo = Demo(options: options, logger: Logger(label: "aicc-notify.demo"))
        let report = try await demo.run { line in
            FileHandle.standardError.write(Data(("demo: " + line + "\n").utf8))
        }
        print(report.text)
        if !report.matchesSimulator { throw ExitCode(1) }
    }
}
