import Foundation
import NotifyCore
import Testing

/// The JSON Schemas and the Swift validator must agree on every example, and
/// every example must sit in the folder (valid/ or invalid/) that says so.
@Suite struct SchemaAgreementTests {
    /// One file's verdicts.
    struct Disagreement: CustomStringConvertible {
        var file: String
        var expected: Bool
        var python: Bool?
        var swift: Bool
        var detail: String
        var description: String {
            let word = { (valid: Bool?) in valid.map { $0 ? "valid" : "invalid" } ?? "no verdict" }
            return "\(file): folder says \(word(expected)), schema (python-jsonschema) says \(word(python)), Swift says \(word(swift)) — \(detail)"
        }
    }

    /// Runs both validators over `examples/valid` and `examples/invalid` and
    /// returns every file on which either disagrees with its folder.
    static func agreementCheck(examples: URL, schema: URL, script: URL = TestSupport.checkerScript) throws -> (checked: Int, disagreements: [Disagreement]) {
        let validFiles = try TestSupport.jsonFiles(in: examples.appendingPathComponent("valid"))
        let invalidFiles = try TestSupport.jsonFiles(in: examples.appendingPathComponent("invalid"))
        let all = validFiles.map { ($0, true) } + invalidFiles.map { ($0, false) }
        let python = try TestSupport.pythonVerdicts(schema: schema, paths: all.map(\.0), script: script)
        let decoder = RequestDecoder()
        var disagreements: [Disagreement] = []
        for (file, expected) in all {
            let result = decoder.decodeDocument(try TestSupport.bytes(of: file))
            let swiftValid = result.kind == .valid
            let pythonVerdict = python[file.standardizedFileURL.path]
            if pythonVerdict?.valid != expected || swiftValid != expected {
                let detail = "python: \(pythonVerdict?.reason ?? "-"); swift: \(result.errors.map(\.description).joined(separator: "; "))"
                disagreements.append(Disagreement(file: file.lastPathComponent, expected: expected, python: pythonVerdict?.valid,
                                                  swift: swiftValid, detail: detail))
            }
        }
        return (all.count, disagreements)
    }

    @Test func schemaAndSwiftAgreeOnEveryExample() throws {
        let (checked, disagreements) = try Self.agreementCheck(examples: TestSupport.examplesDir, schema: TestSupport.requestSchema)
        for disagreement in disagreements {
            Issue.record("\(disagreement)")
        }
        #expect(disagreements.isEmpty)
        let invalid = try TestSupport.jsonFiles(in: TestSupport.examplesDir.appendingPathComponent("invalid"))
        let valid = try TestSupport.jsonFiles(in: TestSupport.examplesDir.appendingPathComponent("valid"))
        #expect(invalid.count >= 40)
        #expect(valid.count >= 5)
        #expect(checked == invalid.count + valid.count)
    }

    /// Copies the schemas and examples into a temp dir, misplaces one file, and
    /// expects the check to name exactly that file.
    @Test(arguments: [("valid", "invalid", "minimal.json"), ("invalid", "valid", "validation.called.format.json")])
    func misplacedExampleIsReported(from: String, to: String, name: String) throws {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("aicc-notify-agreement-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temp) }
        let schemas = temp.appendingPathComponent("schemas")
        try FileManager.default.copyItem(at: TestSupport.schemasDir, to: schemas)
        let examples = schemas.appendingPathComponent("examples")
        try FileManager.default.moveItem(at: examples.appendingPathComponent(from).appendingPathComponent(name),
                                         to: examples.appendingPathComponent(to).appendingPathComponent("misplaced-\(name)"))
        let (_, disagreements) = try Self.agreementCheck(
            examples: examples, schema: schemas.appendingPathComponent("notification-request.v1.schema.json"),
            script: schemas.appendingPathComponent("tools/check_examples.py"))
        #expect(disagreements.map(\.file) == ["misplaced-\(name)"])
        let only = try #require(disagreements.first)
        #expect(only.python == (from == "valid"))
        #expect(only.swift == (from == "valid"))
        #expect(only.expected == (to == "valid"))
    }

    /// `invalid/<code>[--variant].json` must produce `<code>` in Swift.
    @Test func everyInvalidExampleFailsForTheRuleInItsName() throws {
        let decoder = RequestDecoder()
        for file in try TestSupport.jsonFiles(in: TestSupport.examplesDir.appendingPathComponent("invalid")) {
            let stem = file.deletingPathExtension().lastPathComponent
            let code = stem.components(separatedBy: "--")[0]
            let result = decoder.decodeDocument(try TestSupport.bytes(of: file))
            #expect(result.errors.map(\.code).contains(code), "\(file.lastPathComponent): got \(result.errors.map(\.code))")
            #expect(ContractErrorCode(rawValue: code) != nil, "\(file.lastPathComponent) names an unknown code")
        }
    }

    /// Every rule a plain document can break has at least one invalid example.
    @Test func everyDocumentRuleHasAnInvalidExample() throws {
        let names = try TestSupport.jsonFiles(in: TestSupport.examplesDir.appendingPathComponent("invalid"))
            .map { $0.deletingPathExtension().lastPathComponent.components(separatedBy: "--")[0] }
        for code in ContractErrorCode.allCases where !code.isCloudEvents {
            #expect(names.contains(code.rawValue), "no invalid example for \(code.rawValue)")
        }
    }

    /// The numbers in the schema are the numbers in ContractLimits.
    @Test func schemaLimitsMatchSwiftLimits() throws {
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: TestSupport.requestSchema)) as? [String: Any])
        let limits = try #require(schema["x-documentLimits"] as? [String: Any])
        #expect(limits["maxBytes"] as? Int == ContractLimits.maxBytes)
        #expect(limits["maxDepth"] as? Int == ContractLimits.maxDepth)
        #expect(schema["additionalProperties"] as? Bool == true)
        let properties = try #require(schema["properties"] as? [String: Any])
        let voice = try #require(properties["voiceContent"] as? [String: Any])
        #expect(voice["x-encodedMaxLength"] as? Int == ContractLimits.voiceContentMaxLength)
        let priority = try #require(properties["priority"] as? [String: Any])
        #expect(priority["minimum"] as? Int == ContractLimits.priorityRange.lowerBound)
        #expect(priority["maximum"] as? Int == ContractLimits.priorityRange.upperBound)
        let defs = try #require(schema["$defs"] as? [String: Any])
        let attributes = try #require(defs["attributes"] as? [String: Any])
        #expect(attributes["maxProperties"] as? Int == ContractLimits.attributesMaxCount)
        #expect(attributes["x-maxTotalLength"] as? Int == ContractLimits.attributesMaxTotalLength)
        let values = try #require(attributes["additionalProperties"] as? [String: Any])
        #expect(values["maxLength"] as? Int == ContractLimits.attributeValueMaxLength)
    }
}
