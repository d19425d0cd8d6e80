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
        // Every FILE is checked before any is read: a typo is a usage error, not half a report.
        for file in files where file != "-" {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
                throw usageError("cannot read '\(file)': no such file")
            }
            if isDirectory.boolValue { throw usageError("cannot read '\(file)': is a directory (name the .json files in it)") }
            guard FileManager.default.isReadableFile(atPath: file) else { throw usageError("cannot read '\(file)': permission denied") }
        }

        let decoder = RequestDecoder()
        let limit = decoder.configuration.maxBytes
        var reports: [Report] = []
        for file in files {
            guard let handle = file == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: file) else {
                throw usageError("cannot read '\(file)'")
            }
            defer { if file != "-" { try? handle.close() } }
            if file == "-" || file.hasSuffix(".jsonl") {
                // Streamed: a line past the limit is counted, not kept.
                var splitter = JSONLines.Splitter(limit: limit)
                func report(_ items: [JSONLines.Splitter.Item]) {
                    for item in items {
                        switch item {
                        case .line(let line):
                            reports.append(Report(file: file, line: line.number, result: decoder.decodeDocument(line.bytes)))
                        case .tooLong(let number, let length):
                            reports.append(Report(file: file, line: number, result: Self.tooLarge(length, limit: limit)))
                        }
                    }
                }
                while let chunk = try handle.read(upToCount: 64 * 1024), !chunk.isEmpty {
                    report(splitter.feed(chunk))
                }
                report(splitter.finish())
            } else {
                // One document: never more than the limit (and one byte) is read.
                let data = try handle.read(upToCount: limit + 1) ?? Data()
                if data.count > limit {
                    let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? data.count
                    reports.append(Report(file: file, line: nil, result: Self.tooLarge(size, limit: limit)))
                } else {
                    reports.append(Report(file: file, line: nil, result: decoder.decodeDocument(Array(data))))
                }
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

    /// `decode.too_large` for a document of `size` bytes that was not read whole.
    private static func tooLarge(_ size: Int, limit: Int) -> DecodeResult {
        DecodeResult(kind: .undecodable, errors: [
            ContractError(.decodeTooLarge, path: "", message: "the value is \(size) bytes, more than \(limit)"),
        ])
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
        FileHandle.standardError.write(Data("aicc-notify: usage: validate: \(message)\nUsage: aicc-notify \(Self.usageString())\n".utf8))
        return ExitCode(2)
    }
}
