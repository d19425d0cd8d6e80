public import Foundation
import NIOConcurrencyHelpers

/// A noida-db Kafka broker on loopback, run by `Tests/noida-broker.sh`.
///
/// ``shared()`` is the one `.ci/run` started when `AICC_NOTIFY_TEST_NOIDA`
/// names it (`HOST:PORT`), otherwise one started on first use in a temporary
/// directory on a free port and destroyed when the test process exits (as
/// ``PostgresTestCluster`` does). noida-db not installed is an error, never a skip.
public final class NoidaTestBroker: Sendable {
    /// `HOST:PORT`, for `bootstrap.servers`.
    public let bootstrapServers: String
    /// The broker's data directory, when this process started it.
    public let directory: String?

    /// The script that runs the broker.
    public static let script: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("noida-broker.sh")

    private init(bootstrapServers: String, directory: String?) {
        self.bootstrapServers = bootstrapServers
        self.directory = directory
    }

    private static let sharedBox = NIOLockedValueBox<Result<NoidaTestBroker, any Error>?>(nil)

    /// The shared broker (see the type's documentation).
    public static func shared() throws -> NoidaTestBroker {
        try Self.sharedBox.withLockedValue { box in
            if let box { return try box.get() }
            let result = Result { () throws -> NoidaTestBroker in
                if let named = ProcessInfo.processInfo.environment["AICC_NOTIFY_TEST_NOIDA"], !named.isEmpty {
                    guard let colon = named.lastIndex(of: ":"), Int(named[named.index(after: colon)...]) != nil else {
                        throw TestClusterError("AICC_NOTIFY_TEST_NOIDA must be HOST:PORT, got \(named)")
                    }
                    return NoidaTestBroker(bootstrapServers: named, directory: nil)
                }
                let directory = FileManager.default.temporaryDirectory
                    .appendingPathComponent("aicc-notify-noida-\(UUID().uuidString.prefix(8))").path
                let port = try freeLoopbackPort()
                try Self.runScript(["start", directory, String(port)])
                atexit {
                    guard let started = NoidaTestBroker.sharedBox.withLockedValue({ try? $0?.get() })?.directory else { return }
                    try? NoidaTestBroker.runScript(["destroy", started])
                }
                return NoidaTestBroker(bootstrapServers: "127.0.0.1:\(port)", directory: directory)
            }
            box = result
            return try result.get()
        }
    }

    /// Runs `Tests/noida-broker.sh` through bash (no dependence on its mode bits).
    private static func runScript(_ arguments: [String]) throws {
        try runToCompletion("/bin/bash", [Self.script.path] + arguments)
    }
}
