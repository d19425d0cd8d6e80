import Foundation

/// A private PostgreSQL server for scenarios e1 and e: Debian's `initdb` and
/// `pg_ctl` (package `postgresql`, found under `/usr/lib/postgresql/*/bin`),
/// a fresh cluster in the scenario's directory, trust authentication on
/// 127.0.0.1 only, superuser `postgres`. Run as root, the server runs as the
/// `postgres` user (PostgreSQL refuses root). Its CPU time is read from
/// `/proc`: the postmaster, its live children, and the children it reaped.
final class BenchPostgres: @unchecked Sendable {
    // @unchecked: `server` is only touched by init and stop, which the
    // benchmark calls from one task.
    let directory: URL
    let port: Int
    private let bin: String
    /// The server, a child of this process (not a daemon that `pg_ctl`
    /// starts: Foundation's `Process` never saw such a `pg_ctl` end here).
    private let server: Process

    /// The store URL for the workers.
    var url: String { "postgres://postgres@127.0.0.1:\(self.port)/postgres" }

    /// initdb, then start; waits until the server accepts connections.
    init(directory: URL, port: Int) throws {
        guard let bin = Self.binDirectory() else {
            throw BenchmarkError("scenarios e1 and e need a PostgreSQL server: no initdb/pg_ctl under /usr/lib/postgresql (apt-get install postgresql)")
        }
        self.bin = bin
        self.directory = directory
        self.port = port
        let root = getuid() == 0
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if root { try Self.run("/bin/chown", ["postgres:postgres", directory.path]) }
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        try Self.asOwner("\(bin)/initdb", ["-D", directory.path, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
        let server = Process()
        let command = ["\(bin)/postgres", "-D", directory.path, "-p", "\(port)", "-k", directory.path,
                       "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]
        server.executableURL = URL(fileURLWithPath: root ? "/usr/sbin/runuser" : command[0])
        server.arguments = root ? ["-u", "postgres", "--"] + command : Array(command.dropFirst())
        let log = directory.deletingLastPathComponent().appendingPathComponent("postgres.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = handle
        server.standardError = handle
        try server.run()
        try? handle.close()
        self.server = server
        // Ready when pg_isready says so (60 s at most).
        let deadline = Date().addingTimeInterval(60)
        while (try? Self.run("\(bin)/pg_isready", ["-q", "-h", "127.0.0.1", "-p", "\(port)"])) == nil {
            guard server.isRunning, Date() < deadline else {
                self.stop()
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                throw BenchmarkError("PostgreSQL did not start: \(text.suffix(500))")
            }
            usleep(100_000)
        }
    }

    /// Fast shutdown, waited for (30 s at most, then killed).
    func stop() {
        guard self.server.isRunning else { return }
        kill(self.server.processIdentifier, SIGINT)  // runuser passes it on; SIGINT is PostgreSQL's fast shutdown
        if let pidText = try? String(contentsOf: self.directory.appendingPathComponent("postmaster.pid"), encoding: .utf8),
           let postmaster = pidText.split(separator: "\n").first.flatMap({ Int32($0) }) {
            kill(postmaster, SIGINT)
        }
        let deadline = Date().addingTimeInterval(30)
        while self.server.isRunning && Date() < deadline {
            usleep(50_000)
        }
        if self.server.isRunning { kill(self.server.processIdentifier, SIGKILL) }
    }

    /// CPU seconds (user + system) of the server so far.
    func cpuSeconds() -> Double {
        guard let pidText = try? String(contentsOf: self.directory.appendingPathComponent("postmaster.pid"), encoding: .utf8),
              let postmaster = pidText.split(separator: "\n").first.flatMap({ Int32($0) }) else { return 0 }
        var ticks = 0.0
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for name in processes {
            guard let pid = Int32(name), let fields = Self.statFields(pid) else { continue }
            // Fields after "(comm)", from 3: ppid is 4, utime 14, stime 15, cutime 16, cstime 17.
            let parent = Int32(fields[1]) ?? 0
            if pid == postmaster {
                ticks += fields[11...14].compactMap { Double($0) }.reduce(0, +)
            } else if parent == postmaster {
                ticks += fields[11...12].compactMap { Double($0) }.reduce(0, +)
            }
        }
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 14 ? Array(fields) : nil
    }

    private static func binDirectory() -> String? {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
        return versions.reversed().map { "\(base)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: "\($0)/pg_ctl") }
    }

    private static func asOwner(_ executable: String, _ arguments: [String]) throws {
        if getuid() == 0 {
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
        } else {
            try Self.run(executable, arguments)
        }
    }

    /// Runs a command to its end (at most 90 s), through `sh` so that its
    /// standard streams are a file the shell opens and `/dev/null`: a server
    /// that `pg_ctl` starts inherits nothing of this process. The file is
    /// read on failure.
    private static func run(_ executable: String, _ arguments: [String]) throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("aicc-notify-bench-pg-\(UUID().uuidString.prefix(8)).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec \"$0\" \"$@\" </dev/null >\"$LOG\" 2>&1", executable] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["LOG": log.path]) { _, new in new }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning && Date() < deadline {
            usleep(20_000)
        }
        let name = URL(fileURLWithPath: executable).lastPathComponent
        guard !process.isRunning else {
            process.terminate()
            throw BenchmarkError("\(name) did not finish within 90 s")
        }
        guard process.terminationStatus == 0 else {
            let text = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            throw BenchmarkError("\(name) failed (\(process.terminationStatus)): \(text)")
        }
    }
}
