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
/// before. A renewal that fails (the store is out) is tried again after a
/// tenth of the lease.
///
/// Its ``run()`` is a child task of the dispatch service's task group, ending
/// with it.
final class LeaseRenewer: Sendable {
    /// What the renewer holds: for each key, how many calls of it are out
    /// (normally one), and the keys found lost.
    private struct State {
        /// For each key with a call out: how many (normally one), and the
        /// generation of the latest `begin`.
        var calls: [String: (count: Int, generation: UInt64)] = [:]
        var lost: Set<String> = []
        var generation: UInt64 = 0
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
            state.generation += 1
            state.calls[key] = ((state.calls[key]?.count ?? 0) + 1, state.generation)
            state.lost.remove(key)
        }
    }

    /// The call for `key` was answered (or never went).
    func end(_ key: String) {
        self.state.withLockedValue { state in
            guard let calls = state.calls[key] else { return }
            state.calls[key] = calls.count > 1 ? (calls.count - 1, calls.generation) : nil
            if calls.count == 1 { state.lost.remove(key) }
        }
    }

    /// The keys renewed at each tick (for tests and the debug log).
    var liveKeys: Set<String> {
        self.state.withLockedValue { state in Set(state.calls.keys).subtracting(state.lost) }
    }

    /// Renews every third of the lease until cancelled; after a failed
    /// renewal, again after a tenth of it.
    func run() async {
        var renewed = true
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: renewed ? self.lease / 3 : self.lease / 10)
            } catch {
                return
            }
            renewed = await self.renewOnce()
        }
    }

    /// One tick: every live key in one store operation. `false` when the
    /// store failed.
    @discardableResult
    func renewOnce() async -> Bool {
        let keys: [(key: String, generation: UInt64)] = self.state.withLockedValue { state in
            state.calls.compactMap { state.lost.contains($0.key) ? nil : ($0.key, $0.value.generation) }
        }
        guard !keys.isEmpty else { return true }
        let renewed: Set<String>
        do {
            renewed = try await self.store.renewLeases(
                keys: keys.map(\.key), owner: self.owner, until: Date().addingTimeInterval(self.lease.seconds))
        } catch {
            self.logger.notice("leases could not be renewed; trying again soon", metadata: [
                LogKey.errorCode: "\(error.code)", "claims": "\(keys.count)",
            ])
            return false
        }
        let lost: [String] = self.state.withLockedValue { state in
            // Only calls still out since the snapshot: one answered meanwhile
            // may have completed its key, and a new call for the key (a later
            // claim of it) is renewed at the next tick.
            let lost = keys.filter { !renewed.contains($0.key) && state.calls[$0.key]?.generation == $0.generation }.map(\.key)
            state.lost.formUnion(lost)
            return lost
        }
        for key in lost {
            self.logger.warning("lease on a claim could not be renewed: another worker took it over", metadata: [LogKey.idempotencyKey: "\(key)"])
        }
        return true
    }
}
