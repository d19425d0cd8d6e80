import Foundation

/// A local OTLP/HTTP endpoint for the tests (`Tests/otlp-sink.py`, run with
/// python3): it answers every export with 200 and keeps each request body,
/// so that a test can see which spans reached it.
public final class OTLPSink: Sendable {
    /// The port on 127.0.0.1.
    public let port: Int
    /// Where the bodies are kept.
    public let directory: String
    private let pid: pid_t

    /// The base URL to give as `tracing.otlpEndpoint`.
    public var endpoint: String { "http://127.0.0.1:\(self.port)" }

    static let script: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("otlp-sink.py")

    private init(port: Int, directory: String, pid: pid_t) {
        self.port = port
        self.directory = directory
        self.pid = pid
    }

    /// Starts a sink on a free port and waits until it listens.
    public static func start() throws -> OTLPSink {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aicc-otlp-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        let python = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
            .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python else { throw TestClusterError("python3 not found") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, directory + "/sink.out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, directory + "/sink.err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let arguments = [python, Self.script.path, directory, String(port)]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // The sink starts with no signal blocked and default dispositions: a
        // test runs on a libdispatch thread, which blocks most signals
        // (SIGTERM among them), and a child inherits that mask — the sink
        // would then never see the SIGTERM that stops it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, python, &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw TestClusterError("could not start the OTLP sink: errno \(spawned)") }
        let sink = OTLPSink(port: port, directory: directory, pid: pid)
        let deadline = Date().addingTimeInterval(15)
        while !FileManager.default.fileExists(atPath: directory + "/ready") {
            guard Date() < deadline else {
                sink.stop()
                throw TestClusterError("the OTLP sink did not start: \((try? String(contentsOfFile: directory + "/sink.err", encoding: .utf8)) ?? "")")
            }
            usleep(50_000)
        }
        return sink
    }

    /// Every request body received so far, in arrival order, with its path
    /// and content type.
    public func requests() -> [(path: String, contentType: String, body: [UInt8])] {
        let log = (try? String(contentsOfFile: self.directory + "/requests.log", encoding: .utf8)) ?? ""
        return log.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", maxSplits: 2).map(String.init)
            guard fields.count == 3, let body = FileManager.default.contents(atPath: "\(self.directory)/\(fields[0]).bin") else { return nil }
            return (fields[1], fields[2], Array(body))
        }
    }

    /// Stops the sink (SIGTERM; SIGKILL if it is still there after 5 s) and
    /// removes its directory.
    public func stop() {
        kill(self.pid, SIGTERM)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(5)
        while waitpid(self.pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(self.pid, SIGKILL)
                while waitpid(self.pid, &status, 0) < 0 && errno == EINTR {}
                break
            }
            usleep(20_000)
        }
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes.
    public func contains(bytes needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= self.count else { return needle.isEmpty }
        for start in 0...(self.count - needle.count) where self[start] == needle[0] {
            if Array(self[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }
}
