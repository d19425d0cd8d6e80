public import Foundation
import NIOConcurrencyHelpers

/// A throwaway PostgreSQL server on loopback for tests, run by
/// `Tests/postgres-test-cluster.sh` (Debian's PostgreSQL, trust auth on
/// 127.0.0.1, superuser `postgres`).
///
/// ``shared`` is the cluster most tests use: the one `.ci/run` started when
/// `AICC_NOTIFY_TEST_POSTGRES` names it (`DIR:PORT`), otherwise one started on
/// first use and stopped when the test process exits. Tests that stop the
/// server (outages) start a private one with ``start()``. Each test takes a
/// database of its own with ``createDatabase()``. No PostgreSQL installed is
/// an error, never a skip.
public final class PostgresTestCluster: Sendable {
    /// The data directory.
    public let directory: String
    /// The TCP port on 127.0.0.1.
    public let port: Int

    /// The script that runs the server.
    public static let script: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("postgres-test-cluster.sh")

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    private static let sharedBox = NIOLockedValueBox<Result<PostgresTestCluster, any Error>?>(nil)

    /// The shared cluster (see the type's documentation).
    public static func shared() throws -> PostgresTestCluster {
        try Self.sharedBox.withLockedValue { box in
            if let box { return try box.get() }
            let result = Result { () throws -> PostgresTestCluster in
                if let named = ProcessInfo.processInfo.environment["AICC_NOTIFY_TEST_POSTGRES"], !named.isEmpty {
                    guard let colon = named.lastIndex(of: ":"), let port = Int(named[named.index(after: colon)...]) else {
                        throw TestClusterError("AICC_NOTIFY_TEST_POSTGRES must be DIR:PORT, got \(named)")
                    }
                    return PostgresTestCluster(directory: String(named[..<colon]), port: port)
                }
                let cluster = try Self.start()
                atexit { try? PostgresTestCluster.sharedBox.withLockedValue { try $0?.get() }?.destroy() }
                return cluster
            }
            box = result
            return try result.get()
        }
    }

    /// Starts a private cluster in a new temporary directory on a free port.
    public static func start() throws -> PostgresTestCluster {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("aicc-notify-pg-\(UUID().uuidString.prefix(8))").path
        let cluster = PostgresTestCluster(directory: directory, port: try freeLoopbackPort())
        try cluster.startServer()
        return cluster
    }

    /// Starts (again) the server of this cluster on its port.
    public func startServer() throws {
        try Self.runScript(["start", self.directory, String(self.port)])
    }

    /// Stops the server (fast shutdown: open connections are cut).
    public func stop() throws {
        try Self.runScript(["stop", self.directory])
    }

    /// Stops the server if it runs and deletes its directory.
    public func destroy() throws {
        try Self.runScript(["destroy", self.directory])
    }

    /// Creates a fresh, empty database and returns its `store.url`.
    public func createDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        try self.psql("CREATE DATABASE \(name)")
        return self.url(database: String(name))
    }

    /// The `store.url` of `database` on this cluster.
    public func url(database: String) -> String {
        "postgres://postgres@127.0.0.1:\(self.port)/\(database)?sslmode=disable"
    }

    /// Runs one SQL command through `psql` on `database`; returns its unaligned output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let output = try runToCompletion(Self.binary("psql"), [
            "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(self.port), "-U", "postgres",
            "-d", database, "-c", sql,
        ])
        return output
    }

    private static func binary(_ name: String) throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let path = "\(root)/\(version)/bin/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TestClusterError("\(name) not found under \(root): install Debian's postgresql package (ops/install-prerequisites.sh)")
    }

    private static func runScript(_ arguments: [String]) throws {
        try runToCompletion(Self.script.path, arguments)
    }
}

/// A test cluster could not be set up.
public struct TestClusterError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

