import Foundation
import NotifyCore
import NotifyStore
import NotifyStoreSQLite
import Testing

/// kill -9 durability: the `aicc-notify-store-probe` helper claims and
/// completes keys in a SQLite file and prints each step after the store call
/// returned; it is killed with SIGKILL at a random moment; every step it had
/// acknowledged must be in the reopened file.
@Suite struct SQLiteCrashDurabilityTests {
    /// The probe next to the test bundle (SwiftPM builds every product before
    /// `swift test`), or `AICC_NOTIFY_STORE_PROBE_BIN`.
    static func probe() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["AICC_NOTIFY_STORE_PROBE_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while directory.pathComponents.count > 1 {
            let candidate = directory.appendingPathComponent("aicc-notify-store-probe")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw ProbeMissing()
    }

    struct ProbeMissing: Error, CustomStringConvertible {
        var description: String { "aicc-notify-store-probe not found next to the tests; build it or set AICC_NOTIFY_STORE_PROBE_BIN" }
    }

    /// Runs the probe until it has acknowledged `steps` lines, kills it with
    /// SIGKILL, and returns the acknowledged lines.
    static func runAndKill(path: String, steps: Int) throws -> [String] {
        let process = Process()
        process.executableURL = try probe()
        process.arguments = [path, "1000000"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var buffer: [UInt8] = []
        var lines: [String] = []
        let handle = out.fileHandleForReading
        while lines.count < steps {
            let chunk = handle.availableData
            if chunk.isEmpty { break }  // the probe exited on its own: the test fails below
            buffer.append(contentsOf: chunk)
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: buffer[..<newline], as: UTF8.self))
                buffer.removeSubrange(...newline)
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // Lines written before the kill are acknowledged too.
        buffer.append(contentsOf: handle.readDataToEndOfFile())
        for line in buffer.split(separator: UInt8(ascii: "\n")) {
            lines.append(String(decoding: line, as: UTF8.self))
        }
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
        return lines
    }

    @Test func acknowledgedClaimsAndOutcomesSurviveKill9() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("crash.db")
        let steps = Int.random(in: 40...400)
        let acknowledged = try Self.runAndKill(path: path, steps: steps)
        try #require(acknowledged.count >= steps, "the probe stopped early after \(acknowledged.count) lines")

        let store = try await SQLiteIdempotencyStore(configuration: .init(path: path), logger: quietLogger)
        var claimed = 0, done = 0
        for line in acknowledged {
            let parts = line.split(separator: " ")
            try #require(parts.count == 2, "unexpected probe line \(line)")
            let key = String(parts[1])
            let record = try await store.lookup(key: key)
            switch parts[0] {
            case "claimed":
                claimed += 1
                #expect(record != nil, "acknowledged claim of \(key) lost")
            case "done":
                done += 1
                #expect(record?.state == .done, "acknowledged outcome of \(key) lost")
                #expect(record?.callSerialNo == "s" + key.dropFirst())
            default:
                Issue.record("unexpected probe line \(line)")
            }
        }
        #expect(claimed > 0 && done > 0)
        // The reopened store is usable: the key after the last acknowledged one is either
        // absent or a claim of the dead probe (in doubt once its lease ends), never corrupt.
        let next = "k\(claimed)"
        if let record = try await store.lookup(key: next) {
            #expect(record.requestId == "r\(claimed)")
        }
        await store.close()
    }
}
