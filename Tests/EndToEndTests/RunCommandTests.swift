import Foundation
import Testing

/// `aicc-notify run` refuses invalid configuration at start: exit 2 and a
/// message that names the key, never a secret (product §6).
@Suite("aicc-notify run: configuration errors")
struct RunCommandTests {
    static let valid: [String: String] = [
        "AICC_NOTIFY_AICC_BASE_URL": "http://127.0.0.1:9",
        "AICC_NOTIFY_AICC_APP_KEY": "key",
        "AICC_NOTIFY_AICC_APP_SECRET": "planted-app-secret-value",
        "AICC_NOTIFY_STORE_URL": "sqlite:/nonexistent-dir/never-opened.db",
    ]

    @Test("A missing or invalid key exits 2 naming it", arguments: [
        ("AICC_NOTIFY_AICC_BASE_URL", nil, "aicc.baseURL"),
        ("AICC_NOTIFY_AICC_TIMEOUT", "soon", "aicc.timeout"),
        ("AICC_NOTIFY_DISPATCH_IN_DOUBT_POLICY", "maybe", "dispatch.inDoubtPolicy"),
        ("AICC_NOTIFY_DISPATCH_DRAIN_TIMEOUT", "-1", "dispatch.drainTimeout"),
        ("AICC_NOTIFY_STORE_URL", "mysql://db/x", "store.url"),
        ("AICC_NOTIFY_KAFKA_PROPERTIES", "no.such.librdkafka.property=1", "kafka.properties"),
    ] as [(String, String?, String)])
    func invalidConfiguration(variable: String, value: String?, key: String) throws {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AICC_NOTIFY_") }
        environment.merge(Self.valid) { _, new in new }
        environment[variable] = value
        if variable == "AICC_NOTIFY_KAFKA_PROPERTIES" {
            // Reach the Kafka clients: a store that opens.
            environment["AICC_NOTIFY_STORE_URL"] = "sqlite:" + FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString).db").path
        }
        let output = try ProcessSupport.run(ProcessSupport.binary, ["run"], environment: environment)
        #expect(output.status == 2, "\(output.stderr)")
        #expect(output.stderr.contains(key), "\(output.stderr)")
        #expect(!output.stderr.contains("planted-app-secret-value"))
    }
}

/// The README's command table is the command line's reference: every option
/// each subcommand's `--help` lists is in its row.
@Suite("README: the command table")
struct CommandTableTests {
    @Test(arguments: [["run"], ["demo"], ["kafka-mock"], ["simulate-aicc"], ["validate"], ["route"], ["bench"], ["dlq", "replay"]])
    func everyOptionIsListed(command: [String]) throws {
        let help = try ProcessSupport.run(ProcessSupport.binary, command + ["--help"])
        #expect(help.status == 0)
        let options = help.stdout.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.drop { $0 == " " }
            guard trimmed.hasPrefix("--") else { return nil }
            return String(trimmed.prefix { $0 != " " && $0 != "/" })
        }.filter { $0 != "--help" && $0 != "--version" }
        #expect(!options.isEmpty || command == ["validate"])
        let readme = try String(contentsOf: ProcessSupport.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let row = try #require(readme.split(separator: "\n").first { $0.hasPrefix("| `aicc-notify \(command.joined(separator: " "))") },
                               "no row for \(command)")
        for option in options {
            #expect(row.contains(option), "README's row for \(command.joined(separator: " ")) does not list \(option)")
        }
    }

    @Test func versionIsPrinted() throws {
        let output = try ProcessSupport.run(ProcessSupport.binary, ["--version"])
        #expect(output.status == 0)
        #expect(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3, "\(output.stdout)")
    }
}
