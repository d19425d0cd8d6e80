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
