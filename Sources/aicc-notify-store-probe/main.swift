// A test helper for NotifyStoreTests, not part of the product.
//
//     aicc-notify-store-probe PATH COUNT
//
// Opens the SQLite idempotency store at PATH (synchronous FULL, the default)
// and, for i in 0..<COUNT, claims key `k<i>` (the claim is its first attempt) and records an
// `accepted` outcome with call serial `s<i>`. After each store call returns it
// writes one line to stdout, unbuffered:
//
//     claimed k<i>      (the claim is acknowledged)
//     done k<i>         (the outcome is acknowledged)
//
// The crash test kills it with SIGKILL at a random moment, reopens the file
// and checks that every acknowledged step is there.
import Foundation
import Logging
import NotifyCore
import NotifyStore
import NotifyStoreSQLite

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: aicc-notify-store-probe PATH COUNT\n".utf8))
    exit(2)
}
var logger = Logger(label: "aicc-notify-store-probe")
logger.logLevel = .warning

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

do {
    let store = try await SQLiteIdempotencyStore(configuration: .init(path: arguments[1]), logger: logger)
    let owner = StoreOwner(worker: "probe", incarnation: UUID().uuidString)
    for i in 0..<count {
        let key = "k\(i)"
        let claim = ClaimRequest(
            key: key, requestId: "r\(i)", fingerprint: "f\(i)", owner: owner,
            leaseDuration: .seconds(30), now: Date(), takeOverInDoubt: false
        )
        guard case .claimed = try await store.claim(claim) else {
            FileHandle.standardError.write(Data("unexpected claim result for \(key)\n".utf8))
            exit(1)
        }
        // The claim is also the first attempt's start: the outcome follows.
        say("claimed \(key)")
        _ = try await store.recordOutcome(key: key, requestId: "r\(i)", owner: owner, outcome: StoredOutcome(
            outcome: .accepted, callSerialNo: "s\(i)", inDoubt: false, attempts: 1,
            result: Array("{\"requestId\":\"r\(i)\"}".utf8), completedAt: Date()
        ))
        say("done \(key)")
    }
    await store.close()
} catch {
    FileHandle.standardError.write(Data("probe failed: \(error)\n".utf8))
    exit(1)
}
