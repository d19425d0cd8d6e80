import Foundation

/// Back-pressure between the poll thread and the application: the poll thread
/// waits here (bounded) when the event buffer is above its high watermark,
/// and the buffer's delegate signals when it drains below the low one.
///
/// A counter instead of a flag: the poll thread reads it *before* yielding, so
/// a signal that races with the yield's "stop" answer is never lost.
final class DemandSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var signals: UInt64 = 0

    var current: UInt64 {
        self.condition.lock()
        defer { self.condition.unlock() }
        return self.signals
    }

    func signal() {
        self.condition.lock()
        self.signals &+= 1
        self.condition.broadcast()
        self.condition.unlock()
    }

    /// Waits until a signal newer than `seen` arrives or `timeout` passes.
    func wait(after seen: UInt64, timeout: TimeInterval) {
        self.condition.lock()
        defer { self.condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while self.signals == seen {
            if !self.condition.wait(until: deadline) { return }
        }
    }
}
