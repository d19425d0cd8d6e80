public import Foundation
public import NotifyCore

/// One routed alert's escalation (product §12): the step it is on, the calls
/// of its steps, the step's `wait` deadline and whether it has ended.
///
/// A value with one rule, ``apply(_:at:policy:nextStep:)``: every input (a
/// result or a status report of one of its requests, the deadline, the alert
/// again) goes through it, and what it returns is all the caller does. The
/// stores keep it between inputs; a fleet applies inputs under a
/// compare-and-set on the stored version, so one step is decided once.
///
/// It holds request ids, never numbers.
public struct EscalationState: Sendable, Hashable, Codable {
    /// Where the escalation stands.
    public enum Phase: String, Sendable, Hashable, Codable, CaseIterable {
        /// A step's calls are out; nobody has answered yet.
        case waiting
        /// A call of a step was answered: ended.
        case answered
        /// The alert resolved, or fired anew (a new `startsAt`): ended.
        case resolved
        /// The last step rang out unanswered: ended, nobody more to call.
        case exhausted

        /// Whether the escalation has ended.
        public var isEnded: Bool { self != .waiting }
    }

    /// Where one call (one request of a step) stands.
    public enum CallPhase: String, Sendable, Hashable, Codable {
        /// Produced; no result yet.
        case pending
        /// AICC accepted it (`accepted`, or `duplicate` of an accepted call);
        /// its status report is awaited.
        case placed
        /// Ended without an answer: a report with another `releaseReason`,
        /// or a result that placed no call.
        case ended
    }

    /// One request of one step.
    public struct Call: Sendable, Hashable, Codable {
        /// Its `requestId` (= `idempotencyKey`).
        public var requestId: String
        /// The step that made it.
        public var step: Int
        /// Where it stands.
        public var phase: CallPhase

        public init(requestId: String, step: Int, phase: CallPhase = .pending) {
            self.requestId = requestId
            self.step = step
            self.phase = phase
        }
    }

    /// The alert it is for.
    public struct AlertRef: Sendable, Hashable, Codable {
        /// `labels.alertname` ("" when absent).
        public var name: String
        /// The alert's identity (its `fingerprint`, else a hash of its labels).
        public var fingerprint: String
        /// The firing's `startsAt`, as sent.
        public var startsAt: String

        public init(name: String, fingerprint: String, startsAt: String) {
            self.name = name
            self.fingerprint = fingerprint
            self.startsAt = startsAt
        }
    }

    /// `esc:` + 32 hex digits (``Router/escalationID(for:route:)``).
    public var id: String
    /// The route.
    public var route: String
    /// The alert.
    public var alert: AlertRef
    /// The current step (0 = the route's own call).
    public var step: Int
    /// When the current step is unanswered if nobody has answered.
    public var deadline: Date
    /// Where it stands.
    public var phase: Phase
    /// The calls of every step so far, in order.
    public var calls: [Call]
    /// The `callSerialNo` of the answering call, once answered.
    public var answeredBy: String?
    /// Why it ended as it did: `alert.resolved`, `alert.refired`,
    /// `unanswered` or `route.removed` (exhausted), `answered`.
    public var reason: String?

    /// A new escalation whose step 0 made `requestIds` at `now`.
    public init(id: String, route: String, alert: AlertRef, requestIds: [String], now: Date, wait: TimeInterval) {
        self.id = id
        self.route = route
        self.alert = alert
        self.step = 0
        self.deadline = now.addingTimeInterval(wait)
        self.phase = .waiting
        self.calls = requestIds.map { Call(requestId: $0, step: 0) }
    }

    /// The request ids of step `index`.
    public func requestIds(ofStep index: Int) -> [String] {
        self.calls.filter { $0.step == index }.map(\.requestId)
    }

    /// What happens to an escalation.
    public enum Input: Sendable, Hashable {
        /// The result of one of its requests.
        case result(requestId: String, outcome: NotificationResult.Outcome)
        /// A status report of one of its requests' calls (`releaseReason`
        /// as AICC sent it; nil when absent or not a number).
        case report(requestId: String, releaseReason: Int?, callSerialNo: String?)
        /// The clock: the deadline may have passed.
        case tick
        /// The alert was seen again: `resolved`, or `firing` with a
        /// `startsAt` (the same firing repeated, or a new one).
        case alert(status: String, startsAt: String)
    }

    /// What an input did, and so what the caller does.
    public enum Transition: Sendable, Hashable {
        /// Nothing changed (an unknown request, a redelivery, an ended
        /// escalation): nothing to store.
        case unchanged
        /// A call's phase changed: store the state; nothing to publish.
        case updated
        /// The step was unanswered and the next one begins: store the state,
        /// produce the step's requests (its ids are in the state), publish
        /// an `escalated` event.
        case escalated(step: Int)
        /// Ended (answered, resolved or exhausted): store the state and
        /// publish the event.
        case ended(Phase)
    }

    /// Applies one input at `now` under the route's `policy`; `nextStep`
    /// gives the request ids a step makes (the router's, deterministic),
    /// empty past the last step.
    ///
    /// The rule (product §12): a report with an `answered` reason ends it
    /// `answered`, whichever step the call belongs to; a step is unanswered
    /// when each of its calls has ended without one, or at its deadline;
    /// then the next step begins, or after the last it ends `exhausted`. A
    /// `resolved` alert or a new firing ends it `resolved`. Calls only move
    /// forward (pending → placed → ended), so a redelivered or late input
    /// changes nothing decided.
    public mutating func apply(
        _ input: Input, at now: Date, policy: RoutingRules.EscalationPolicy, nextStep: (Int) -> [String]
    ) -> Transition {
        guard self.phase == .waiting else { return .unchanged }
        var changed = false
        switch input {
        case .result(let requestId, let outcome):
            guard let index = self.calls.firstIndex(where: { $0.requestId == requestId }) else { return .unchanged }
            let placed = outcome == .accepted || outcome == .duplicate
            changed = self.advance(index, to: placed ? .placed : .ended)
        case .report(let requestId, let releaseReason, let callSerialNo):
            guard let index = self.calls.firstIndex(where: { $0.requestId == requestId }) else { return .unchanged }
            if let releaseReason, policy.answered.contains(releaseReason) {
                self.calls[index].phase = .ended
                self.phase = .answered
                self.answeredBy = callSerialNo
                self.reason = "answered"
                return .ended(.answered)
            }
            changed = self.advance(index, to: .ended)
        case .tick:
            if now >= self.deadline { return self.stepUnanswered(at: now, policy: policy, nextStep: nextStep) }
            return .unchanged
        case .alert(let status, let startsAt):
            if status == "resolved" || startsAt != self.alert.startsAt {
                self.phase = .resolved
                self.reason = status == "resolved" ? "alert.resolved" : "alert.refired"
                return .ended(.resolved)
            }
            return .unchanged
        }
        let current = self.calls.filter { $0.step == self.step }
        if !current.isEmpty, current.allSatisfy({ $0.phase == .ended }) {
            return self.stepUnanswered(at: now, policy: policy, nextStep: nextStep)
        }
        return changed ? .updated : .unchanged
    }

    /// Ends a waiting escalation whose route the rules no longer have (or
    /// no longer escalate): `exhausted`, reason `route.removed` — the rules
    /// loaded now say nobody more is called.
    public mutating func endWithoutRoute() -> Transition {
        guard self.phase == .waiting else { return .unchanged }
        self.phase = .exhausted
        self.reason = "route.removed"
        return .ended(.exhausted)
    }

    /// Moves a call forward; never back.
    private mutating func advance(_ index: Int, to phase: CallPhase) -> Bool {
        let order: [CallPhase] = [.pending, .placed, .ended]
        guard order.firstIndex(of: phase)! > order.firstIndex(of: self.calls[index].phase)! else { return false }
        self.calls[index].phase = phase
        return true
    }

    private mutating func stepUnanswered(
        at now: Date, policy: RoutingRules.EscalationPolicy, nextStep: (Int) -> [String]
    ) -> Transition {
        let next = self.step + 1
        let requestIds = next <= policy.steps.count ? nextStep(next) : []
        guard !requestIds.isEmpty else {
            self.phase = .exhausted
            self.reason = "unanswered"
            return .ended(.exhausted)
        }
        self.step = next
        self.deadline = now.addingTimeInterval(policy.wait)
        self.calls += requestIds.map { Call(requestId: $0, step: next) }
        return .escalated(step: next)
    }
}
