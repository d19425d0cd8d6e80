import Foundation
import Testing

/// The operator files in `ops/` (issue #9): `ops/check.sh` parses every YAML
/// and JSON file, checks metric names and configuration keys against the
/// README, runs `promtool check rules` and the alert rules' unit tests
/// (`promtool test rules`).
@Suite struct OpsFilesTests {
    @Test func opsFilesParseAndTheAlertRulesPassPromtool() throws {
        let script = ProcessSupport.repositoryRoot.appendingPathComponent("ops/check.sh")
        let result = try ProcessSupport.run(script, [])
        #expect(result.status == 0, "ops/check.sh failed:\n\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS"), "\(result.stdout)")
    }
}
