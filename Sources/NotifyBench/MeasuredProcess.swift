import Foundation

/// A child process whose CPU time and peak memory the benchmark reads from
/// `/proc` (Linux), started with its own environment and its stderr in a file.
final class MeasuredProcess: @unchecked Sendable {
    // @unchecked: `Process` is only touched by start/stop, which the
    // benchmark calls from one task.
    private let process: Process
    private let log: FileHandle
    let logFile: URL

    init(executable: String, arguments: [String], environment: [String: String], logFile: URL) throws {
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardError = handle
        process.standardOutput = handle
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            try? handle.close()
            throw error
        }
        self.process = process
        self.log = handle
        self.logFile = logFile
    }

    var pid: Int32 { self.process.processIdentifier }
    var isRunning: Bool { self.process.isRunning }

    /// User + system CPU seconds so far (`/proc/PID/stat` fields 14 and 15).
    func cpuSeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(self.pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)" come the fields from 3 (state) on: utime is 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Peak resident set size in bytes (`VmHWM` in `/proc/PID/status`).
    func peakRSSBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(self.pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return kilobytes.map { $0 * 1024 }
        }
        return nil
    }

    /// Resident memory now, split as `/proc/PID/status` splits it: private
    /// anonymous pages (`RssAnon`: the heap, stacks — what grows with load)
    /// and file-backed pages (`RssFile`: the executable and the shared
    /// libraries' code and data, shared with the page cache), in bytes.
    func residentMemory() -> (anonymous: Int, file: Int)? {
        guard let status = try? String(contentsOfFile: "/proc/\(self.pid)/status", encoding: .utf8) else { return nil }
        var anonymous: Int?
        var file: Int?
        for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") || line.hasPrefix("RssFile:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            if line.hasPrefix("RssAnon:") { anonymous = kilobytes } else { file = kilobytes }
        }
        guard let anonymous, let file else { return nil }
        return (anonymous * 1024, file * 1024)
    }

    /// SIGTERM, then up to `timeout` for a graceful exit, then SIGKILL.
    /// Returns the exit status (nil when it had to be killed).
    @discardableResult
    func stop(timeout: Duration = .seconds(30)) async -> Int32? {
        defer { try? self.log.close() }
        guard self.process.isRunning else { return self.process.terminationStatus }
        self.process.terminate()
        let deadline = ContinuousClock.now + timeout
        while self.process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        guard !self.process.isRunning else {
            kill(self.pid, SIGKILL)
            self.process.waitUntilExit()
            return nil
        }
        return self.process.terminationStatus
    }
}

/// CPU seconds (user + system) of this process, or of its waited-for children.
func resourceUsageSeconds(children: Bool = false) -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t((children ? RUSAGE_CHILDREN : RUSAGE_SELF).rawValue), &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
