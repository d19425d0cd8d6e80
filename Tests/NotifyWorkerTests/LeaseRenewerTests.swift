import Foundation
import Logging
import NIOConcurrencyHelpers
import NotifyStore
import NotifyStoreSQLite
import ServiceLifecycle
import Testing

@testable import NotifyWorker

/// The one lease renewer of a worker (issue 25), against a real SQLite store.
@Suite("Lease renewer")
struct LeaseRenewerTests {
    /// Keeps what is logged, for expectations.
    struct RecordingLogHandler: LogHandler {
        let lines: NIOLockedValueBox<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            self.lines.withLockedValue { $0.append((event.level, event.message.description, event.metadata ?? [:])) }
        }
    }

    static let owner = StoreOwner(worker: "worker-a", incarnation: "a-1")
    static let other = StoreOwner(worker: "worker-b", incarnation: "b-1")

    @Test("One tick renews every call out; a key taken over is reported once and renewed no more")
    func renewsWhatIsOutAndReportsTakeovers() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lease-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await SQLiteIdempotencyStore(
            configuration: .init(path: directory.appendingPathComponent("store.db").path), logger: Logger(label: "store") { _ in SwiftLogNoOpLogHandler() })
        let lines = NIOLockedValueBox<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])
        let logger = Logger(label: "test") { _ in RecordingLogHandler(lines: lines) }
        let lease: Duration = .seconds(3)
        let renewer = LeaseRenewer(store: store, owner: Self.owner, lease: lease, logger: logger)

        let start = Date()
        for key in ["k1", "k2", "k3"] {
            let claim = try await store.claim(ClaimRequest(
                key: key, requestId: "r-\(key)", fingerprint: "fp", owner: Self.owner, leaseDuration: lease, now: start, takeOverInDoubt: false))
            guard case .claimed = claim else { Issue.record("\(key): \(claim)"); return }
        }
        renewer.begin("k1")
        renewer.begin("k2")
        renewer.begin("k3")
        renewer.end("k3")  // answered: no longer renewed
        #expect(renewer.liveKeys == ["k1", "k2"])

        await renewer.renewOnce()
        for key in ["k1", "k2"] {
            let lease = try #require(try await store.lookup(key: key)?.leaseExpiresAt)
            #expect(lease > start.addingTimeInterval(3), "\(key) renewed")
        }
        #expect(try await store.lookup(key: "k3")?.leaseExpiresAt == StoreTime.date(StoreTime.millis(start.addingTimeInterval(3))))

        // k2's lease lapses and another worker takes it over.
        let takeover = try await store.claim(ClaimRequest(
            key: "k2", requestId: "r-k2", fingerprint: "fp", owner: Self.other, leaseDuration: lease,
            now: Date().addingTimeInterval(60), takeOverInDoubt: true))
        guard case .claimedInDoubt = takeover else { Issue.record("k2: \(takeover)"); return }
        await renewer.renewOnce()
        await renewer.renewOnce()
        let warnings = lines.withLockedValue { $0.filter { $0.level == .warning } }
        #expect(warnings.count == 1)
        #expect(warnings.first?.message == "lease on a claim could not be renewed: another worker took it over")
        #expect(warnings.first?.metadata[LogKey.idempotencyKey] == "k2")
        #expect(renewer.liveKeys == ["k1"])
        #expect(try await store.lookup(key: "k2")?.owner == Self.other)

        // The timer: run() ticks every third of the lease until cancelled.
        let before = try #require(try await store.lookup(key: "k1")?.leaseExpiresAt)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await renewer.run() }
            try await Task.sleep(for: .milliseconds(1_500))
            group.cancelAll()
        }
        let after = try #require(try await store.lookup(key: "k1")?.leaseExpiresAt)
        #expect(after > before)
        await store.close()
    }
}
