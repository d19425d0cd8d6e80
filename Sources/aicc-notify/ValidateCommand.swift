import ArgumentParser
import Foundation
import NotifyCore

/// `aicc-notify validate FILE...`: checks notification-request documents
/// against the contract (the same rules as `schemas/notification-request.v1.schema.json`).
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check notification-request events against the schema.",
        discussion: """
            Each FILE holds one JSON document; a FILE ending in .jsonl holds JSON Lines \
            (one document per line, blank lines skipped); '-' reads JSON Lines from standard input.
            Prints every error as FILE[:LINE]: PATH: CODE: MESSAGE, where PATH is a JSON Pointer \
            ("(root)" for the whole document). Exit status: 0 all valid, 1 some invalid, 2 usage error \
            (no FILE, a missing or unreadable FILE, an unknown option).
            """
    )

    @Flag(name: .long, help: "Print one machine-readable JSON object instead of text.")
    var json = false

    @Argument(parsing: .allUnrecognized, help: "Files to check ('-' = JSON Lines on stdin).")
    var files: [String] = []

    func run() async throws {
        guard !files.isEmpty else { throw usageError("no FILE given (use '-' for standard input)") }
        if let option = files.first(where: { $0.hasPrefix("-") && $0 != "-" }) {
            throw usageError("unknown option '\(option)'")
        }
        var inputs: [(name: String, bytes: [UInt8], jsonLines: Bool)] = []
        for file in files {
            if file == "-" {
                inputs.append(("-", Array(FileHandle.standardInput.readDataToEndOfFile()), true))
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: file)
            else { throw usageError("cannot read '\(file)': no such file") }
            inputs.append((file, Array(data), file.hasSuffix(".jsonl")))
        }

        let decoder = RequestDecoder()
        var reports: [Report] = []
        for input in inputs {
            if input.jsonLines {
                for line in JSONLines.lines(input.bytes) {
                    reports.append(Report(file: input.name, line: line.number, result: decoder.decodeDocument(line.bytes)))
                }
            } else {
                reports.append(Report(file: input.name, line: nil, result: decoder.decodeDocument(input.bytes)))
            }
        }

        let invalid = reports.filter { $0.result.kind != .valid }.count
        if json {
            printJSON(reports, invalid: invalid)
        } else {
            for report in reports {
                let location = report.line.map { "\(report.file):\($0)" } ?? report.file
                for error in report.result.errors {
                    print("\(location): \(error.path.isEmpty ? "(root)" : error.path): \(error.code): \(error.message)")
                }
            }
            print("\(reports.count) document(s) checked, \(invalid) invalid")
        }
        if invalid > 0 { throw ExitCode(1) }
    }

    private struct Report {
        var file: String
        var line: Int?
        var result: DecodeResult
    }

    private struct JSONOutput: Encodable {
        struct Document: Encodable {
            var file: String
            var line: Int?
            var valid: Bool
            var requestId: String?
            var errors: [ContractError]
        }
        var valid: Bool
        var checked: Int
        var invalid: Int
        var documents: [Document]
    }

    private func printJSON(_ reports: [Report], invalid: Int) {
        let output = JSONOutput(
            valid: invalid == 0, checked: reports.count, invalid: invalid,
            documents: reports.map {
                .init(file: $0.file, line: $0.line, valid: $0.result.kind == .valid, requestId: $0.result.requestId, errors: $0.result.errors)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain value types cannot fail.
        let data = (try? encoder.encode(output)) ?? Data("{}".utf8)
        print(String(decoding: data, as: UTF8.self))
    }

    private func usageError(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("aicc-notify validate: \(message)\nusage: aicc-notify \(Self.usageString())\n".utf8))
        return ExitCode(2)
    }
}
