import Foundation
import Logging
import NotifyCore
import NotifyStore
import Testing

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        self.url = FileManager.default.temporaryDirectory
            .appendingPathComponent("notify-store-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String {
        self.url.appendingPathComponent(name).path
    }

    func remove() {
        try? FileManager.default.removeItem(at: self.url)
    }
}

/// A logger that drops everything (tests never bootstrap LoggingSystem).
let quietLogger = Logger(label: "notify-store-tests", factory: { _ in SwiftLogNoOpLogHandler() })

extension ClaimResult {
    /// The case name, for readable expectations.
    var kind: String {
        switch self {
        case .claimed: "claimed"
        case .completed: "completed"
        case .duplicate: "duplicate"
        case .conflict: "conflict"
        case .inFlight: "inFlight"
        case .inDoubt: "inDoubt"
        case .claimedInDoubt: "claimedInDoubt"
        case .suppressed: "suppressed"
        }
    }

    /// The record the answer carries (the current one for takeovers).
    var record: StoredRecord {
        switch self {
        case .claimed(let r), .completed(let r), .duplicate(let r), .conflict(let r), .inFlight(let r), .suppressed(let r): r
        case .inDoubt(_, let current), .claimedInDoubt(_, let current): current
        }
    }

    /// The abandoned claim of an in-doubt answer.
    var previous: StoredRecord? {
        switch self {
        case .inDoubt(let previous, _), .claimedInDoubt(let previous, _): previous
        default: nil
        }
    }
}

/// Expects `body` to throw a ``StoreError`` with `code`.
func expectStoreError(_ code: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as StoreError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
