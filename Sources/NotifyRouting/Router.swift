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
            let segments = AlertTemplating.render(route.voice, alert: alert, route: route.name)
            for recipient in route.recipients {
                requests.append(RoutedRequest(
                    alert: alert, route: route, recipient: recipient, segments: segments, recordTime: recordTime,
                    keySecret: self.keySecret))
            }
            if !route.continues { break }
        }
        guard matchedAny else { return .unmatched }
        // One request per recipient and alert: a later route does not ring a number again.
        var seen: Set<String> = []
        return .routed(requests.filter { seen.insert($0.called).inserted })
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
    public var called: String
    public var segments: [VoiceSegment]
    public var priority: Int
    public var expiresAt: Date?
    public var attributes: [String: String]

    init(
        alert: Alert, route: RoutingRules.Route, recipient: String, segments: [VoiceSegment], recordTime: Date,
        keySecret: SymmetricKey? = nil
    ) {
        let identity = [alert.identity, alert.startsAt, route.name, recipient]
            .map { "\($0.utf8.count):\($0)" }.joined(separator: "\n")
        let message = Array(("aicc-notify.route.v1\n" + identity).utf8)
        if let keySecret {
            let mac = HMAC<SHA256>.authenticationCode(for: message, using: keySecret)
            self.idempotencyKey = "alert:" + String(mac.map { String(format: "%02x", $0) }.joined().prefix(32))
        } else {
            self.idempotencyKey = "alert:" + String(SHA256Digest.hexDigest(message).prefix(32))
        }
        self.called = recipient
        self.segments = segments
        self.priority = route.priority
        self.expiresAt = route.ttl.map { recordTime.addingTimeInterval($0) }
        var attributes: [String: String] = [
            "alert.name": alert.labels["alertname"] ?? "",
            "alert.fingerprint": alert.identity,
            "alert.status": alert.status,
            "route": route.name,
        ]
        if let severity = alert.labels["severity"] { attributes["alert.severity"] = severity }
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
