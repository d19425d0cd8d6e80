import Foundation
import NotifyCore
import NotifyRouting

/// What `aicc-notify route --explain` prints for one alert: each route it
/// matches, each step of the route with its masked recipients, when it
/// rings, its priority, ttl and voice (product §12).
///
/// ```
/// DiskFull (fp-1, firing since 2026-12-04T10:00:00Z)
///   route db-critical: escalates, wait 5m, answered = releaseReason 0, 1 (esc:…)
///     step 0, at once: +*********0001 · priority 2 · ttl 15m · voice "Alert DiskFull"
///     step 1, when step 0 is unanswered (at the latest 5m after it): +*********0002, +*********0003 · priority 2 · ttl 15m · voice "Alert DiskFull"
///     then: exhausted, nobody more is called
/// ```
struct RoutePlan {
    let text: String

    init(router: Router, alert: Alert, now: Date) {
        let name = alert.labels["alertname"] ?? alert.identity
        var lines = ["\(name) (\(alert.identity), \(alert.status) since \(alert.startsAt))"]
        let routes = router.matchingRoutes(alert)
        if alert.status != "firing" {
            lines.append("  resolved: nobody is called, and an escalation of this firing ends")
        } else if routes.isEmpty {
            lines.append("  no route matches: nobody is called")
        } else {
            // Step 0 drops a number an earlier route already rings.
            var calledByEarlier: [String: String] = [:]
            for route in routes {
                if let policy = route.escalation {
                    let answered = policy.answered.sorted().map(String.init).joined(separator: ", ")
                    lines.append("  route \(route.name): escalates, wait \(Self.duration(policy.wait)), answered = releaseReason \(answered) (\(router.escalationID(for: alert, route: route.name)))")
                } else {
                    lines.append("  route \(route.name): rings once (no escalate)")
                }
                for index in 0...route.lastStep {
                    let requests = router.requests(for: alert, route: route, step: index, recordTime: now)
                    let recipients = requests.map { request in
                        let masked = PhoneNumberMask.mask(request.called)
                        if index == 0, let earlier = calledByEarlier[request.called] { return "\(masked) (rung by route \(earlier))" }
                        return masked
                    }
                    let when = index == 0 ? "at once" : "when step \(index - 1) is unanswered (at the latest \(Self.duration(route.escalation?.wait ?? 0)) after it)"
                    let first = requests.first
                    let ttl = first?.expiresAt.map { Self.duration($0.timeIntervalSince(now)) } ?? "none"
                    let voice = first.map { VoiceContent.segments($0.segments).encoded } ?? ""
                    lines.append("    step \(index), \(when): \(recipients.joined(separator: ", ")) · priority \(first?.priority ?? 0) · ttl \(ttl) · voice \"\(voice)\"")
                }
                if route.escalation != nil { lines.append("    then: exhausted, nobody more is called") }
                for request in router.requests(for: alert, route: route, step: 0, recordTime: now) where calledByEarlier[request.called] == nil {
                    calledByEarlier[request.called] = route.name
                }
            }
        }
        self.text = lines.joined(separator: "\n") + "\n"
    }

    /// `90s`, `5m`, `2h`, `1h30m`.
    static func duration(_ seconds: TimeInterval) -> String {
        let whole = Int(seconds.rounded())
        if whole % 3600 == 0, whole > 0 { return "\(whole / 3600)h" }
        if whole >= 3600 { return "\(whole / 3600)h\((whole % 3600) / 60)m" }
        if whole % 60 == 0, whole > 0 { return "\(whole / 60)m" }
        return "\(whole)s"
    }
}
