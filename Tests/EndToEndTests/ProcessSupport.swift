import Foundation

/// Finds and runs the built `aicc-notify` executable and other programs.
enum ProcessSupport {
    /// The repository root (for `schemas/`, `ops/`).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `aicc-notify` next to the test bundle (SwiftPM builds every product
    /// before `swift test` runs), or `AICC_NOTIFY_BIN`.
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["AICC_NOTIFY_BIN"] {
            return URL(fileURLWithPath: path)
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // On Darwin the runner sits inside the .xctest bundle.
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("aicc-notify").path),
              directory.pathComponents.count > 2 {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("aicc-notify")
    }

    /// Looks a program up on PATH.
    static func which(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a program to completion and captures its output.
    static func run(_ executable: URL, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil) throws -> Output {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes fully before waiting, so a chatty child never blocks.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A long-running child process whose first stdout line is read.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let stdout = Pipe()
    private let stderr = Pipe()

    /// Starts the program. With `stderrFile`, its stderr goes to that file
    /// (a chatty child never blocks on a full pipe) and ``stderrText`` reads it.
    init(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil, stderrFile: URL? = nil) throws {
        self.process.executableURL = executable
        self.process.arguments = arguments
        if let environment { self.process.environment = environment }
        self.process.standardOutput = self.stdout
        self.stderrFile = stderrFile
        if let stderrFile {
            _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
            self.process.standardError = try FileHandle(forWritingTo: stderrFile)
        } else {
            self.process.standardError = self.stderr
        }
        try self.process.run()
    }

    private let stderrFile: URL?

    /// Reads stdout up to the first newline (blocking; call off the pool or
    /// accept a short block in tests).
    func firstLine() -> String? {
        var bytes: [UInt8] = []
        let handle = self.stdout.fileHandleForReading
        while true {
            let chunk = handle.readData(ofLength: 1)
            guard let byte = chunk.first else { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }

    func signal(_ signal: Int32) {
        kill(self.process.processIdentifier, signal)
    }

    /// Whether it is still running.
    var isRunning: Bool { self.process.isRunning }

    /// Throws, with the end of its standard error, when it has exited: a
    /// wait on what a worker should do fails at once, saying why.
    func expectRunning(_ what: String = "the worker") throws {
        guard !self.process.isRunning else { return }
        throw ScenarioFailure("\(what) exited (\(self.process.terminationStatus)): \(self.stderrText.suffix(1500))")
    }

    /// Waits for exit up to `timeout`; kills it after that. Returns the status.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while self.process.isRunning && Date() < deadline { usleep(20_000) }
        if self.process.isRunning {
            self.process.terminate()
            self.process.waitUntilExit()
            return nil
        }
        return self.process.terminationStatus
    }

    var stderrText: String {
        if let stderrFile = self.stderrFile {
            return (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
        }
        return String(decoding: self.stderr.fileHandleForReading.availableData, as: UTF8.self)
    }

    deinit {
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
    }
}
