public import Foundation

/// Storm protection (product §10): at most ``burst`` calls to one called
/// number in any trailing ``window``; a request over the budget is not called
/// (outcome `suppressed`, code `dispatch.storm`). The rule is pure; the stores
/// apply it inside the claim's transaction, so that it holds across a fleet.
public struct StormBudget: Sendable, Hashable {
    /// `dispatch.storm.window`: the trailing window. Zero: off (the default).
    public var window: Duration
    /// `dispatch.storm.burst`: calls allowed per number in the window. Default 3.
    public var burst: Int
    /// `dispatch.storm.bypassPriority`: requests with `priority` at or under it
    /// (1 is highest) are always called and do not count. Default 0: none.
    public var bypassPriority: Int

    /// Creates a budget; the defaults are off, 3, none.
    public init(window: Duration = .zero, burst: Int = 3, bypassPriority: Int = 0) {
        self.window = window
        self.burst = burst
        self.bypassPriority = bypassPriority
    }

    /// Whether the budget is on at all.
    public var isOn: Bool { self.window > .zero }

    /// Whether a request of this priority is held to the budget (and counts).
    public func applies(toPriority priority: Int) -> Bool {
        self.isOn && priority > self.bypassPriority
    }

    /// Whether one more call fits, given when the calls to the number that
    /// still hold a slot were placed. The window is trailing and open at its
    /// start: a call placed exactly `window` ago no longer counts.
    public func admits(placedAt: some Sequence<Date>, now: Date) -> Bool {
        let start = now.addingTimeInterval(-Self.seconds(self.window))
        return placedAt.reduce(0) { $0 + ($1 > start ? 1 : 0) } < self.burst
    }

    /// Whether a request that ended so gives its slot back: only when no call
    /// can have been placed. A call in doubt counts as placed; `accepted` and
    /// `indeterminate` keep their slot.
    public static func freesSlot(outcome: NotificationResult.Outcome, inDoubt: Bool) -> Bool {
        guard !inDoubt else { return false }
        switch outcome {
        case .failed, .rejected, .expired: return true
        case .accepted, .indeterminate, .duplicate, .suppressed: return false
        }
    }

    /// The `dispatch.storm` error of a suppressed request.
    public var suppressedError: NotificationResult.ErrorInfo {
        NotificationResult.ErrorInfo(
            code: DispatchErrorCode.storm,
            message: "over the storm budget of \(self.burst) call\(self.burst == 1 ? "" : "s") per number in \(Self.plain(Self.seconds(self.window))) s; not called")
    }

    /// `300`, `0.5`: no grouping or locale.
    private static func plain(_ seconds: TimeInterval) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int64(seconds)) : String(seconds)
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
