public import Foundation
import NotifyCore

/// escalation v1 (`schemas/escalation.v1.schema.json`): one per escalation
/// decision (product §12), on `kafka.topics.escalations`, keyed by the
/// escalation id. Numbers appear masked only.
public struct EscalationEvent: Sendable, Hashable {
    /// `escalated`, `answered`, `resolved` or `exhausted`.
    public enum State: String, Sendable, Hashable, CaseIterable {
        case escalated, answered, resolved, exhausted
    }

    /// `escalationId`.
    public var escalationId: String
    /// `alert`: name, fingerprint, startsAt.
    public var alert: EscalationState.AlertRef
    /// `route`.
    public var route: String
    /// `step`: the step that begins (`escalated`) or the step it ended on.
    public var step: Int
    /// `state`.
    public var state: State
    /// `requestIds`: the step's requests.
    public var requestIds: [String]
    /// `recipients`: the step's numbers, masked (on `escalated`).
    public var recipients: [String]?
    /// `callSerialNo` of the answering call (on `answered`).
    public var callSerialNo: String?
    /// `reason`: `answered`, `alert.resolved`, `alert.refired`,
    /// `unanswered` (why the step before an `escalated` step, or the last
    /// step, ended).
    public var reason: String?
    /// `at`: when it was decided.
    public var at: Date

    public init(
        escalationId: String, alert: EscalationState.AlertRef, route: String, step: Int, state: State,
        requestIds: [String], recipients: [String]? = nil, callSerialNo: String? = nil, reason: String? = nil, at: Date
    ) {
        self.escalationId = escalationId
        self.alert = alert
        self.route = route
        self.step = step
        self.state = state
        self.requestIds = requestIds
        self.recipients = recipients
        self.callSerialNo = callSerialNo
        self.reason = reason
        self.at = at
    }

    /// The event for an escalation after a transition: `escalated` with the
    /// new step's requests and (masked) `recipients`, or the state it ended
    /// in with the requests of the step it ended on.
    public init(after state: EscalationState, recipients: [String]? = nil, at: Date) {
        let eventState: State = switch state.phase {
        case .waiting: .escalated
        case .answered: .answered
        case .resolved: .resolved
        case .exhausted: .exhausted
        }
        self.init(
            escalationId: state.id, alert: state.alert, route: state.route, step: state.step, state: eventState,
            requestIds: state.requestIds(ofStep: state.step),
            recipients: eventState == .escalated ? recipients.map { $0.map(PhoneNumberMask.mask) } : nil,
            callSerialNo: state.phase == .answered ? state.answeredBy : nil,
            reason: eventState == .escalated ? "unanswered" : state.reason, at: at)
    }

    /// The event as its JSON document (sorted keys; absent fields omitted).
    public var jsonBytes: [UInt8] {
        var object: [String: JSONValue] = [
            "escalationId": .string(self.escalationId),
            "alert": .object([
                "name": .string(self.alert.name), "fingerprint": .string(self.alert.fingerprint),
                "startsAt": .string(self.alert.startsAt),
            ]),
            "route": .string(self.route),
            "step": .number(Double(self.step)),
            "state": .string(self.state.rawValue),
            "requestIds": .array(self.requestIds.map { .string($0) }),
            "at": .string(RFC3339.format(self.at)),
        ]
        if let recipients { object["recipients"] = .array(recipients.map { .string($0) }) }
        if let callSerialNo { object["callSerialNo"] = .string(callSerialNo) }
        if let reason { object["reason"] = .string(reason) }
        return JSONValue.object(object).serialized
    }
}
