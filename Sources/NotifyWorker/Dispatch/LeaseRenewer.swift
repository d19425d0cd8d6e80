import Foundation
import Logging
import NIOConcurrencyHelpers
import NotifyStore

/// Keeps the claims whose create call is out alive: one timer for all of
/// them, ticking every third of the lease, and one batched renewal
/// (``IdempotencyStore/renewLeases(keys:owner:until:)``) per tick — not a
/// task and a store write per call (issue 25).
///
/// A call registers its key with ``begin(_:)`` before it goes and removes it
/// with ``end(_:)`` when it is answered. A key the store no longer holds for
/// this owner (another worker took it over after the lease lapsed) is logged
/// once and renewed no more; the call's outcome then finds the claim lost, as
/// before. A renewal that fails (the store is out) is tried at the next tick:
/// the lease has two thirds of its length left.
///
/// Its ``run()`` is a child task of the dispatch service's task group, ending
/// with it.
final class LeaseRenewer: Sendable {
    /// What the renewer holds: for each key, how many calls of it are out
    /// (normally one), and the keys found lost.
    private struct State {
        var calls: [String: Int] = [:]
        var lost: Set<String> = []
    }

    private let state = NIOLockedValueBox(State())
    private let store: any IdempotencyStore
    private let owner: StoreOwner
    private let lease: Duration
    private let logger: Logger

    init(store: any IdempotencyStore, owner: StoreOwner, lease: Duration, logger: Logger) {
        self.store = store
        self.owner = owner
        self.lease = lease
        self.logger = logger
    }

    /// A call for `key` is about to go out.
    func begin(_ key: String) {
        self.state.withLockedValue { state in
            state.calls[key, default: 0] += 1
            state.lost.remove(key)
        }
    }

    /// The call for `key` was answered (or never went).
    func end(_ key: String) {
        self.state.withLockedValue { state in
            guard let count = state.calls[key] else { return }
            state.calls[key] = count > 1 ? count - 1 : nil
            if count == 1 { state.lost.remove(key) }
        }
    }

    /// The keys renewed at each tick (for tests and the debug log).
    var liveKeys: Set<String> {
        self.state.withLockedValue { state in Set(state.calls.keys).subtracting(state.lost) }
    }

    /// Renews every third of the lease until cancelled.
    func run() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: self.lease / 3)
            } catch {
                return
            }
            await self.renewOnce()
        }
    }

    /// One tick: every live key in one store operation.
    func renewOnce() async {
        let keys = Array(self.liveKeys)
        guard !keys.isEmpty else { return }
        let renewed: Set<String>
        do {
            renewed = try await self.store.renewLeases(keys: keys, owner: self.owner, until: Date().addingTimeInterval(self.lease.seconds))
        } catch {
            self.logger.notice("leases could not be renewed; trying again at the next tick", metadata: [
                LogKey.errorCode: "\(error.code)", "claims": "\(keys.count)",
            ])
            return
        }
        let lost: [String] = self.state.withLockedValue { state in
            // Only keys still out: a call answered meanwhile may have completed its key.
            let lost = keys.filter { !renewed.contains($0) && state.calls[$0] != nil && !state.lost.contains($0) }
            state.lost.formUnion(lost)
            return lost
        }
        for key in lost {
            self.logger.warning("lease on a claim could not be renewed: another worker took it over", metadata: [LogKey.idempotencyKey: "\(key)"])
        }
    }
}
