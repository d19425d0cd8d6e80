public import Foundation

extension RoutingRules {
    /// A route's `escalate` (product §12): when a step's calls are not
    /// answered within `wait`, the next step's recipients are called, until
    /// someone answers, the alert resolves or fires anew, or the last step
    /// has rung out (`exhausted`).
    ///
    /// ```yaml
    /// escalate:
    ///   wait: 5m              # required: how long a step has to be answered
    ///   answered: [0, 1]      # releaseReason values that count as answered (default)
    ///   steps:                # required, at least one: steps 1, 2, …
    ///     - call: ["roster:db-secondary"]
    ///     - call: ["+8613900000000"]
    ///       priority: 1       # priority, ttl, voice: else the route's
    /// ```
    ///
    /// `wait` has no default: how long a person has to pick up is a decision
    /// of the team that owns the route, and it should be longer than a call
    /// rings (AICC rings about a minute), or a step is declared unanswered
    /// while its phone still rings.
    public struct EscalationPolicy: Sendable {
        /// `wait` in seconds: how long a step has to be answered, counted
        /// from when its requests were produced.
        public var wait: TimeInterval
        /// `answered`: the `releaseReason` values that count as answered.
        /// Default `[0, 1]` (connected; AICC's spec §3: 0 the callee hung up,
        /// 1 after the notification finished playing).
        public var answered: Set<Int>
        /// `steps`: steps 1, 2, … (step 0 is the route itself).
        public var steps: [Step]

        public init(wait: TimeInterval, answered: Set<Int> = EscalationPolicy.defaultAnswered, steps: [Step]) {
            self.wait = wait
            self.answered = answered
            self.steps = steps
        }

        /// The default of `answered`.
        public static let defaultAnswered: Set<Int> = [0, 1]
    }

    static func escalation(_ value: Any, route: Route, rosters: [String: [String]]) throws(RoutingRulesError) -> EscalationPolicy {
        let name = route.name
        guard let mapping = value as? [String: Any] else {
            throw RoutingRulesError(route: name, "escalate must be a mapping (wait, answered, steps)")
        }
        try Self.onlyKeys(mapping, ["wait", "answered", "steps"], where: name, in: "escalate")
        guard let rawWait = mapping["wait"] else {
            throw RoutingRulesError(route: name, "escalate.wait is required: how long a step has to be answered (e.g. 5m)")
        }
        let wait: TimeInterval
        do {
            wait = try Self.ttl(rawWait, route: name)
        } catch {
            throw RoutingRulesError(route: name, "escalate.wait must be a duration such as 90s, 5m or 1h")
        }
        var answered = EscalationPolicy.defaultAnswered
        if let raw = mapping["answered"] {
            guard let reasons = raw as? [Any], !reasons.isEmpty,
                  case let codes = reasons.compactMap({ $0 as? Int }), codes.count == reasons.count, codes.allSatisfy({ $0 >= 0 })
            else {
                throw RoutingRulesError(route: name, "escalate.answered must be a non-empty list of releaseReason codes (integers, e.g. [0, 1])")
            }
            answered = Set(codes)
        }
        guard let rawSteps = mapping["steps"] as? [Any], !rawSteps.isEmpty else {
            throw RoutingRulesError(route: name, "escalate.steps must be a non-empty list of steps, each with its call list")
        }
        var steps: [Step] = []
        for (index, raw) in rawSteps.enumerated() {
            let place = "escalate.steps[\(index)]"
            guard let step = raw as? [String: Any] else { throw RoutingRulesError(route: name, "\(place) must be a mapping") }
            try Self.onlyKeys(step, ["call", "priority", "ttl", "voice"], where: name, in: place)
            steps.append(Step(
                recipients: try Self.recipients(step["call"], rosters: rosters, route: name, context: "\(place).call"),
                priority: try step["priority"].map { value throws(RoutingRulesError) in try Self.priority(value, route: name) } ?? route.priority,
                ttl: try step["ttl"].map { value throws(RoutingRulesError) in try Self.ttl(value, route: name) } ?? route.ttl,
                voice: try step["voice"].map { value throws(RoutingRulesError) in try Self.voice(value, route: name) } ?? route.voice))
        }
        return EscalationPolicy(wait: wait, answered: answered, steps: steps)
    }
}
