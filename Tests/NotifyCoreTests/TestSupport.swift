import Foundation
import NotifyCore

/// Paths and helpers shared by the NotifyCore tests.
enum TestSupport {
    /// The package root, found from this file's path.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // NotifyCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static let schemasDir = repoRoot.appendingPathComponent("schemas")
    static let examplesDir = schemasDir.appendingPathComponent("examples")
    static let checkerScript = schemasDir.appendingPathComponent("tools/check_examples.py")
    static let requestSchema = schemasDir.appendingPathComponent("notification-request.v1.schema.json")
    static let resultSchema = schemasDir.appendingPathComponent("notification-result.v1.schema.json")
    static let callStatusSchema = schemasDir.appendingPathComponent("call-status.v1.schema.json")

    /// `*.json` files directly in `directory`, sorted by name.
    static func jsonFiles(in directory: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// `text` as a JSON string literal (quoted, escaped).
    static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    static func bytes(of url: URL) throws -> [UInt8] {
        Array(try Data(contentsOf: url))
    }

    /// The first `python3` on PATH.
    static func python3() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("python3")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw TestFailure("python3 not found on PATH (needed with jsonschema and rfc3339-validator)")
    }

    /// Runs a process to completion; returns exit status, stdout and stderr.
    static func run(_ executable: URL, _ arguments: [String], stdin: Data? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Outputs here are small (well under a pipe buffer), so reading one
        // pipe after the other cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    /// Runs `schemas/tools/check_examples.py` and returns `path -> (valid, reason)`.
    static func pythonVerdicts(schema: URL, paths: [URL], script: URL = checkerScript) throws -> [String: (valid: Bool, reason: String)] {
        let result = try run(try python3(), [script.path, "--schema", schema.path] + paths.map(\.path))
        guard result.status == 0 else {
            throw TestFailure("check_examples.py exited \(result.status): \(result.stderr)")
        }
        var verdicts: [String: (Bool, String)] = [:]
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 2, fields[0] == "valid" || fields[0] == "invalid" else {
                throw TestFailure("unexpected checker output line: \(line)")
            }
            verdicts[URL(fileURLWithPath: fields[1]).standardizedFileURL.path] = (fields[0] == "valid", fields.count > 2 ? fields[2] : "")
        }
        return verdicts
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
