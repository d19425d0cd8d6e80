import Foundation
import NotifyRouting
import Testing

/// The alert record schema and the worker's decoder agree on every example:
/// `schemas/examples/alerts/valid/` decode to alerts and pass the schema,
/// `invalid/<code>[--variant].json` fail both, the worker with that code.
@Suite("Alert schema and decoder agree")
struct AlertSchemaAgreementTests {
    static let schemas = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schemas")

    static func files(_ folder: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(
            at: schemas.appendingPathComponent("examples/alerts/\(folder)"), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// `path -> valid` from python-jsonschema through `schemas/tools/check_examples.py`.
    static func pythonVerdicts(_ files: [URL]) throws -> [String: Bool] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", schemas.appendingPathComponent("tools/check_examples.py").path,
                             "--schema", schemas.appendingPathComponent("alert.v1.schema.json").path] + files.map(\.path)
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var verdicts: [String: Bool] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            if parts.count >= 2 { verdicts[URL(fileURLWithPath: String(parts[1])).lastPathComponent] = parts[0] == "valid" }
        }
        return verdicts
    }

    @Test func everyExampleSitsWhereBothSay() throws {
        let valid = try Self.files("valid"), invalid = try Self.files("invalid")
        #expect(valid.count >= 3 && invalid.count >= 4)
        let python = try Self.pythonVerdicts(valid + invalid)
        for file in valid {
            #expect(python[file.lastPathComponent] == true, "schema refuses \(file.lastPathComponent)")
            guard case .alerts(let alerts) = AlertRecord.decode(value: Array(try Data(contentsOf: file)), headers: []) else {
                Issue.record("the worker refuses \(file.lastPathComponent)")
                continue
            }
            #expect(!alerts.isEmpty)
        }
        for file in invalid {
            #expect(python[file.lastPathComponent] == false, "schema accepts \(file.lastPathComponent)")
            let expected = file.deletingPathExtension().lastPathComponent.components(separatedBy: "--")[0]
            guard case .notAlerts(let code, _) = AlertRecord.decode(value: Array(try Data(contentsOf: file)), headers: []) else {
                Issue.record("the worker accepts \(file.lastPathComponent)")
                continue
            }
            #expect(code == expected, "\(file.lastPathComponent): \(code)")
        }
    }
}
