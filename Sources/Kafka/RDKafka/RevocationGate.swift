import NIOConcurrencyHelpers

/// A one-shot latch the poll thread blocks on (with a timeout) while the
/// application handles a revocation. Blocking is fine there: the poll loop
/// runs on its own thread, never on the cooperative pool.
final class RevocationGate: Sendable {
    private let lock = ConditionLock(value: 0)

    func open() {
        self.lock.lock()
        self.lock.unlock(withValue: 1)
    }

    /// Waits until opened or the timeout passes; returns whether it was opened.
    func wait(timeoutSeconds: Double) -> Bool {
        guard self.lock.lock(whenValue: 1, timeoutSeconds: timeoutSeconds) else { return false }
        self.lock.unlock()
        return true
    }
}
