import Foundation
import Testing

/// Runs the built `aicc-notify validate` executable.
@Suite struct ValidateCommandTests {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // EndToEndTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// `AICC_NOTIFY_BIN`, else the executable next to the test bundle
    /// (`.build/<triple>/debug/aicc-notifyPackageTests.xctest` on Linux).
    static func binary() throws -> URL {
        if let override = ProcessInfo.processInfo.environment["AICC_NOTIFY_BIN"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("aicc-notify")]
        // On macOS the runner lives inside the .xctest bundle; the products directory is further up.
        candidates += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("aicc-notify") }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate
        }
        throw Failure("aicc-notify executable not found (looked at \(candidates.map(\.path))); build it or set AICC_NOTIFY_BIN")
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func validate(_ arguments: [String], stdin: String? = nil) throws -> Run {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = ["validate"] + arguments
        process.currentDirectoryURL = repoRoot
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func examples(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: repoRoot.appendingPathComponent("schemas/examples/\(folder)").path)
            .filter { $0.hasSuffix(".json") }.sorted().map { "schemas/examples/\(folder)/\($0)" }
    }

    @Test func validExamplesExitZero() throws {
        let files = try Self.examples("valid")
        let run = try Self.validate(files)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("\(files.count) document(s) checked, 0 invalid"))
    }

    @Test func invalidExamplesExitOneWithAnErrorPerFile() throws {
        let files = try Self.examples("invalid")
        #expect(files.count >= 40)
        let run = try Self.validate(files)
        #expect(run.status == 1)
        let lines = run.stdout.split(separator: "\n")
        for file in files {
            #expect(lines.contains { $0.hasPrefix("\(file): ") }, "no error printed for \(file)")
        }
        // file: path: code: message — the code named in the file name is printed.
        #expect(run.stdout.contains("schemas/examples/invalid/validation.called.format.json: /called: validation.called.format: "))
        #expect(run.stdout.contains("\(files.count) document(s) checked, \(files.count) invalid"))
    }

    @Test func stdinJSONLinesReportsLineNumbers() throws {
        let input = """
            {"requestId":"a-1","called":"123456","voiceContent":"1"}
            {"requestId":"a-2","called":"86+13812345678","voiceContent":"1"}

            {"requestId":"a-4","called":"123456","voiceContent":[{"text":"a$b"}]}
            not json
            """
        let run = try Self.validate(["-"], stdin: input)
        #expect(run.status == 1)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("-:2: /called: validation.called.format: called must be 3-20 digits with an optional leading '+'"))
        #expect(lines.contains { $0.hasPrefix("-:4: /voiceContent/0/text: validation.voiceContent.text: ") })
        #expect(lines.contains { $0.hasPrefix("-:5: (root): decode.json: ") })
        #expect(!lines.contains { $0.hasPrefix("-:1:") || $0.hasPrefix("-:3:") })
        #expect(lines.last == "4 document(s) checked, 3 invalid")
        #expect(!run.stdout.contains("13812345678"))
    }

    @Test func allValidStdinExitsZero() throws {
        let run = try Self.validate(["-"], stdin: "{\"requestId\":\"a\",\"called\":\"123\",\"voiceContent\":\"1\"}\n")
        #expect(run.status == 0)
    }

    @Test func jsonlFileAndJSONOutput() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("aicc-notify-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("{\"requestId\":\"b-1\",\"called\":\"123\",\"voiceContent\":\"1\"}\n{\"requestId\":\"b-2\",\"voiceContent\":\"1\",\"priority\":0}\n".utf8)
            .write(to: file)
        let run = try Self.validate(["--json", file.path, "schemas/examples/valid/minimal.json"])
        #expect(run.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(object["valid"] as? Bool == false)
        #expect(object["checked"] as? Int == 3)
        #expect(object["invalid"] as? Int == 1)
        let documents = try #require(object["documents"] as? [[String: Any]])
        #expect(documents.map { $0["line"] as? Int } == [1, 2, nil])
        #expect(documents.map { $0["valid"] as? Bool } == [true, false, true])
        let errors = try #require(documents[1]["errors"] as? [[String: Any]])
        #expect(errors.map { "\($0["path"] ?? "") \($0["code"] ?? "")" } == ["/called validation.called.required", "/priority validation.priority.range"])
        #expect(documents[1]["requestId"] as? String == "b-2")
    }

    @Test(arguments: [
        [String](),
        ["schemas/examples/valid/minimal.json", "does-not-exist.json"],
        ["schemas/examples"],
        ["--no-such-option", "schemas/examples/valid/minimal.json"],
    ])
    func usageErrorsExitTwo(arguments: [String]) throws {
        let run = try Self.validate(arguments)
        #expect(run.status == 2, "\(arguments): \(run.stdout)\(run.stderr)")
        #expect(run.stderr.hasPrefix("aicc-notify: usage: validate: "), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        if arguments == ["schemas/examples"] { #expect(run.stderr.contains("is a directory")) }
    }

    @Test("A line far past 64 KiB is reported too large without being held in memory")
    func hugeLineIsStreamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("validate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("huge.jsonl")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        try handle.write(contentsOf: Data(#"{"requestId":"r-1","called":"123","voiceContent":"1"}"#.utf8) + Data("\n".utf8))
        let block = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
        let head = Data(#"{"requestId":"r-2","called":"123","voiceContent":"$"#.utf8), tail = Data("$\"}".utf8)
        try handle.write(contentsOf: head)
        for _ in 0..<64 { try handle.write(contentsOf: block) }  // a 64 MiB line
        try handle.write(contentsOf: tail + Data("\n".utf8) + Data(#"{"requestId":"r-3","called":"123","voiceContent":"1"}"#.utf8))
        try handle.close()
        let time = ProcessSupport.which("time") ?? URL(fileURLWithPath: "/usr/bin/time")
        let run = try ProcessSupport.run(time, ["-f", "maxrss-kib=%M", ProcessSupport.binary.path, "validate", file.path])
        #expect(run.status == 1, "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("huge.jsonl:2: (root): decode.too_large: the value is \(head.count + 64 * (1 << 20) + tail.count) bytes, more than 65536"), "\(run.stdout)")
        #expect(run.stdout.contains("3 document(s) checked, 1 invalid"))
        // The line was not read into memory: far below its 64 MiB.
        let rss = run.stderr.split(separator: "\n").first { $0.hasPrefix("maxrss-kib=") }.flatMap { Int($0.dropFirst("maxrss-kib=".count)) }
        #expect((try #require(rss)) < 48 * 1024, "peak RSS \(rss ?? 0) KiB")
    }
}
