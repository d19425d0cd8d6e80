import Crypto
public import Foundation
import Mustache
public import NotifyCore

/// Turns alerts into notification-requests by the rules (product §9).
public struct Router: Sendable {
    /// The rules.
    public let rules: RoutingRules
    /// `routing.keySecret`: with it, a routed request's key is an HMAC under
    /// it (see ``RoutedRequest/idempotencyKey``).
    let keySecret: SymmetricKey?

    /// A router over loaded rules (loading registered the templates' content type).
    ///
    /// - Parameter keySecret: `routing.keySecret` (product §9), the key of
    ///   the HMAC that makes routed requests' idempotency keys. Default `nil`:
    ///   a plain SHA-256, as before the setting existed (the keys of existing
    ///   deployments stay as they were).
    public init(rules: RoutingRules, keySecret: String? = nil) {
        self.rules = rules
        self.keySecret = keySecret.map { SymmetricKey(data: Array($0.utf8)) }
    }

    /// What became of one alert.
    public enum Outcome: Sendable, Equatable {
        /// Firing and matched: these requests, one per distinct recipient.
        case routed([RoutedRequest])
        /// `resolved`: nobody is called.
        case resolved
        /// Firing, but no route matched.
        case unmatched
    }

    /// Routes `alert`; `recordTime` (the Kafka record's timestamp) starts a
    /// route's `ttl` (`expiresAt`).
    public func route(_ alert: Alert, recordTime: Date) -> Outcome {
        guard alert.status == "firing" else { return .resolved }
        var requests: [RoutedRequest] = []
        var matchedAny = false
        for route in self.rules.routes where Self.matches(route, alert) {
            matchedAny = true
            requests += self.requests(for: alert, route: route, step: 0, recordTime: recordTime)
            if !route.continues { break }
        }
        guard matchedAny else { return .unmatched }
        // One request per recipient and alert: a later route does not ring a number again.
        var seen: Set<String> = []
        return .routed(requests.filter { seen.insert($0.called).inserted })
    }

    /// The routes `alert` matches, in order (a route without `continue`
    /// ends the list).
    public func matchingRoutes(_ alert: Alert) -> [RoutingRules.Route] {
        var matched: [RoutingRules.Route] = []
        for route in self.rules.routes where Self.matches(route, alert) {
            matched.append(route)
            if !route.continues { break }
        }
        return matched
    }

    /// The requests of one step of `route` for `alert` (product §12), one
    /// per recipient of the step; empty past the route's last step. Step 0
    /// is what ``route(_:recordTime:)`` makes for the route before requests
    /// to a number another route already rings are dropped.
    public func requests(for alert: Alert, route: RoutingRules.Route, step index: Int, recordTime: Date) -> [RoutedRequest] {
        guard let step = route.step(index) else { return [] }
        let segments = AlertTemplating.render(step.voice, alert: alert, route: route.name)
        return step.recipients.map {
            RoutedRequest(
                alert: alert, route: route, step: step, stepIndex: index, recipient: $0, segments: segments,
                recordTime: recordTime, keySecret: self.keySecret)
        }
    }

    /// The id of `alert`'s escalation on `route` (product §12): `esc:` and
    /// 32 hex digits of SHA-256 (HMAC-SHA256 under `routing.keySecret` when
    /// set) over the alert's identity, its `startsAt` and the route, so that
    /// a repeat of one firing finds the escalation and a new firing starts
    /// another. The key of its escalation events, and the `escalation.id`
    /// attribute of its requests (with `escalation.step`), which their
    /// results and call-status events echo.
    public func escalationID(for alert: Alert, route: String) -> String {
        Self.escalationID(alert: alert, route: route, keySecret: self.keySecret)
    }

    static func escalationID(alert: Alert, route: String, keySecret: SymmetricKey?) -> String {
        "esc:" + Self.digest(domain: "aicc-notify.escalation.v1", [alert.identity, alert.startsAt, route], keySecret: keySecret)
    }

    /// 32 hex digits over length-prefixed `fields` under `domain`: HMAC-SHA256
    /// with `keySecret`, else SHA-256.
    static func digest(domain: String, _ fields: [String], keySecret: SymmetricKey?) -> String {
        let message = Array((domain + "\n" + fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "\n")).utf8)
        if let keySecret {
            let mac = HMAC<SHA256>.authenticationCode(for: message, using: keySecret)
            return String(mac.map { String(format: "%02x", $0) }.joined().prefix(32))
        }
        return String(SHA256Digest.hexDigest(message).prefix(32))
    }

    static func matches(_ route: RoutingRules.Route, _ alert: Alert) -> Bool {
        for (label, value) in route.match where alert.labels[label] != value { return false }
        for (label, regex) in route.matchRegex {
            let text = alert.labels[label] ?? ""
            let range = NSRange(text.startIndex..., in: text)
            // Anchored as written: `^Disk` matches `DiskFull`, `Disk` matches `MyDiskFull` too.
            guard regex.firstMatch(in: text, range: range) != nil else { return false }
        }
        return true
    }
}

/// One notification-request made from an alert.
public struct RoutedRequest: Sendable, Equatable {
    /// `requestId` = `idempotencyKey`: a deterministic function of the
    /// alert's identity, its `startsAt`, the route and the recipient, with no
    /// phone number in it (`alert:` + 32 hex digits): a repeat or a
    /// redelivery of the same firing makes the same request (never rings
    /// twice); a new firing (new `startsAt`) a new one.
    ///
    /// The digits are HMAC-SHA256 under `routing.keySecret` when it is set,
    /// so that someone who knows the other inputs cannot brute-force the
    /// number back from a key; without it, SHA-256 (the keys before the
    /// setting existed). Setting or changing the secret changes every key: a
    /// firing routed before the change and repeated after it rings again.
    public var idempotencyKey: String
    /// The route that made it.
    public var route: String
    /// Its escalation step (product §12): 0 for the route's own call.
    public var step: Int
    public var called: String
    public var segments: [VoiceSegment]
    public var priority: Int
    public var expiresAt: Date?
    public var attributes: [String: String]

    init(
        alert: Alert, route: RoutingRules.Route, step: RoutingRules.Step, stepIndex: Int, recipient: String,
        segments: [VoiceSegment], recordTime: Date, keySecret: SymmetricKey? = nil
    ) {
        // Step 0's keys are the keys routed requests had before escalation
        // existed; a later step adds its number, so each step rings anew.
        var fields = [alert.identity, alert.startsAt, route.name, recipient]
        if stepIndex > 0 { fields.append("step:\(stepIndex)") }
        self.idempotencyKey = "alert:" + Router.digest(domain: "aicc-notify.route.v1", fields, keySecret: keySecret)
        self.route = route.name
        self.step = stepIndex
        self.called = recipient
        self.segments = segments
        self.priority = step.priority
        self.expiresAt = step.ttl.map { recordTime.addingTimeInterval($0) }
        var attributes: [String: String] = [
            "alert.name": alert.labels["alertname"] ?? "",
            "alert.fingerprint": alert.identity,
            "alert.status": alert.status,
            "route": route.name,
        ]
        if let severity = alert.labels["severity"] { attributes["alert.severity"] = severity }
        // A route that escalates marks its requests with their step, so that
        // results and status reports find their escalation (product §12).
        if route.escalation != nil {
            attributes["escalation.id"] = Router.escalationID(alert: alert, route: route.name, keySecret: keySecret)
            attributes["escalation.step"] = "\(stepIndex)"
        }
        // Attribute values are at most 256 characters (the request contract).
        self.attributes = attributes.mapValues { String($0.unicodeScalars.prefix(ContractLimits.attributeValueMaxLength)) }
            .filter { !$0.value.isEmpty }
    }

    /// The notification-request, as its JSON document (sorted keys).
    public var json: [UInt8] {
        var object: [String: JSONValue] = [
            "requestId": .string(self.idempotencyKey),
            "idempotencyKey": .string(self.idempotencyKey),
            "called": .string(self.called),
            "voiceContent": VoiceContent.segments(self.segments).json,
            "priority": .number(Double(self.priority)),
            "attributes": .object(self.attributes.mapValues { .string($0) }),
        ]
        if let expiresAt { object["expiresAt"] = .string(RFC3339.format(expiresAt)) }
        return JSONValue.object(object).serialized
    }
}

/// Mustache over an alert, for AICC's text format.
enum AlertTemplating {
    /// Prepended to every template: substituted values go through
    /// ``AICCText`` (no HTML escaping; `$`, `~` and control characters removed).
    static let pragma = "{{% CONTENT_TYPE: AICC_TEXT}}"

    /// Registers ``AICCText`` once for the process.
    static func registerContentType() {
        MustacheContentTypes.register(AICCText(), named: "AICC_TEXT")
    }

    /// What a substituted value becomes.
    struct AICCText: MustacheContentType {
        func escapeText(_ text: String) -> String {
            String(String.UnicodeScalarView(text.unicodeScalars.filter {
                $0 != "$" && $0 != "~" && $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value)
            }))
        }
    }

    /// The segments for an alert: texts rendered (a missing label renders
    /// empty), empty texts dropped, and the last text cut so that the
    /// encoded content fits AICC's 1000 characters.
    static func render(_ voice: [RoutingRules.VoiceTemplate], alert: Alert, route: String) -> [VoiceSegment] {
        let context: [String: Any] = [
            "labels": alert.labels, "annotations": alert.annotations, "status": alert.status,
            "startsAt": alert.startsAt, "fingerprint": alert.identity, "route": route,
        ]
        var segments: [VoiceSegment] = voice.compactMap { template in
            switch template {
            case .voiceId(let id): return .voiceId(id)
            case .text(let mustache, _):
                let text = mustache.render(context).trimmingCharacters(in: .whitespaces)
                return text.isEmpty ? nil : .text(text)
            }
        }
        if segments.isEmpty { segments = [.text(alert.labels["alertname"].map { "Alert \($0)" } ?? "Alert")] }
        let limit = ContractLimits.voiceContentMaxLength
        let length = VoiceContent.segments(segments).encoded.unicodeScalars.count
        if length > limit, let last = segments.lastIndex(where: { if case .text = $0 { true } else { false } }),
           case .text(let text) = segments[last]
        {
            let keep = max(1, text.unicodeScalars.count - (length - limit))
            segments[last] = .text(String(String.UnicodeScalarView(text.unicodeScalars.prefix(keep))))
        }
        return segments
    }
}
