public import Foundation
public import Mustache
import NotifyCore
import Yams

/// The alert routing rules (product §9), loaded from `routing.file` (YAML).
///
/// ```yaml
/// version: 1
/// defaults: {priority: 5, ttl: 15m, voice: [{text: "Alert {{labels.alertname}}"}]}
/// rosters: {db-oncall: ["+8613800000001"]}
/// routes:
///   - name: db-critical
///     match: {severity: critical}          # every label equal
///     matchRegex: {alertname: "^(Disk|Postgres)"}  # every label matches
///     call: ["roster:db-oncall", "+8613900000000"]
///     priority: 1
///     ttl: 10m
///     voice: [{voiceId: "1133000000000999"}, {text: "{{labels.alertname}}"}]
///     continue: false
///     escalate:                            # product §12
///       wait: 5m                           # how long a step has to be answered
///       answered: [0, 1]                   # releaseReason values that count (default)
///       steps:
///         - call: ["roster:db-secondary"]  # step 1
///           priority: 1                    # and ttl, voice: else the route's
/// ```
///
/// Loading refuses, naming the route: YAML errors, unknown keys, a regex that
/// does not compile, a roster that does not exist, a number that is not
/// E.164, a template that does not parse (or uses `{{{…}}}`/`{{&…}}`, which
/// would bypass the removal of `$` and `~`), a voice id AICC would refuse, no
/// routes, and routes sharing a name.
public struct RoutingRules: Sendable {
    /// One route.
    public struct Route: Sendable {
        /// `name`: unique; part of every idempotency key it makes.
        public var name: String
        /// `match`: label → value, every one equal.
        public var match: [String: String]
        /// `matchRegex`: label → regular expression, every one matching the
        /// label value, anchored only as written (`^(Disk|Postgres)` matches
        /// `DiskFull`); a missing label is "".
        public var matchRegex: [String: NSRegularExpression]
        /// `call`: the recipients, rosters expanded, duplicates dropped, in order.
        public var recipients: [String]
        /// `priority`, else the default's, else 9.
        public var priority: Int
        /// `ttl` in seconds, else the default's; nil: no `expiresAt`.
        public var ttl: TimeInterval?
        /// `voice`, else the default's.
        public var voice: [VoiceTemplate]
        /// `continue`: keep looking for routes after this one matched.
        public var continues: Bool
        /// `escalate`: who is called next when nobody answers (product §12);
        /// nil: the route rings once.
        public var escalation: EscalationPolicy?

        /// Step `index` of the route: 0 is the route's own `call`, `priority`,
        /// `ttl` and `voice`; 1… are `escalate.steps`. Nil past the last step.
        public func step(_ index: Int) -> Step? {
            if index == 0 { return Step(recipients: self.recipients, priority: self.priority, ttl: self.ttl, voice: self.voice) }
            guard let steps = self.escalation?.steps, index >= 1, index <= steps.count else { return nil }
            return steps[index - 1]
        }

        /// The number of the route's last step (0 without `escalate`).
        public var lastStep: Int { self.escalation?.steps.count ?? 0 }
    }

    /// Whom one step calls and how: the route's fields, or a step's
    /// overrides of them.
    public struct Step: Sendable {
        /// `call`: the recipients, rosters expanded, duplicates dropped, in order.
        public var recipients: [String]
        /// `priority`, else the route's.
        public var priority: Int
        /// `ttl` in seconds, else the route's.
        public var ttl: TimeInterval?
        /// `voice`, else the route's.
        public var voice: [VoiceTemplate]

        public init(recipients: [String], priority: Int, ttl: TimeInterval?, voice: [VoiceTemplate]) {
            self.recipients = recipients
            self.priority = priority
            self.ttl = ttl
            self.voice = voice
        }
    }

    /// A voice segment with its text as a template.
    public enum VoiceTemplate: Sendable {
        case voiceId(String)
        case text(MustacheTemplate, source: String)
    }

    /// The routes, in order.
    public var routes: [Route]

    /// Loads the rules file at `path`.
    public static func load(path: String) throws(RoutingRulesError) -> RoutingRules {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RoutingRulesError(route: nil, "cannot read the rules file '\(path)'")
        }
        return try Self.load(yaml: String(decoding: data, as: UTF8.self))
    }

    /// Loads rules from YAML text.
    public static func load(yaml: String) throws(RoutingRulesError) -> RoutingRules {
        // The templates' content type must be known when they are parsed.
        AlertTemplating.registerContentType()
        let document: Any?
        do {
            document = try Yams.load(yaml: yaml)
        } catch {
            let text = "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            throw RoutingRulesError(route: nil, "not valid YAML: \(text)")
        }
        guard let root = document as? [String: Any] else {
            throw RoutingRulesError(route: nil, "the rules file must hold a mapping (version, defaults, rosters, routes)")
        }
        try Self.onlyKeys(root, ["version", "defaults", "rosters", "routes"], where: nil, in: "the file")
        guard let version = root["version"] as? Int, version == 1 else {
            throw RoutingRulesError(route: nil, "version must be 1")
        }

        // defaults
        var defaultPriority = ContractLimits.defaultPriority
        var defaultTTL: TimeInterval?
        var defaultVoice: [VoiceTemplate] = []
        if let raw = root["defaults"] {
            guard let defaults = raw as? [String: Any] else { throw RoutingRulesError(route: nil, "defaults must be a mapping") }
            try Self.onlyKeys(defaults, ["priority", "ttl", "voice"], where: nil, in: "defaults")
            if let value = defaults["priority"] { defaultPriority = try Self.priority(value, route: nil) }
            if let value = defaults["ttl"] { defaultTTL = try Self.ttl(value, route: nil) }
            if let value = defaults["voice"] { defaultVoice = try Self.voice(value, route: nil) }
        }

        // rosters
        var rosters: [String: [String]] = [:]
        if let raw = root["rosters"] {
            guard let mapping = raw as? [String: Any] else { throw RoutingRulesError(route: nil, "rosters must be a mapping of names to lists of numbers") }
            for (name, value) in mapping {
                guard let numbers = value as? [Any], !numbers.isEmpty else {
                    throw RoutingRulesError(route: nil, "roster '\(name)' must be a non-empty list of E.164 numbers")
                }
                rosters[name] = try numbers.map { number throws(RoutingRulesError) -> String in
                    try Self.e164(number, route: nil, context: "roster '\(name)'")
                }
            }
        }

        // routes
        guard let rawRoutes = root["routes"] as? [Any], !rawRoutes.isEmpty else {
            throw RoutingRulesError(route: nil, "routes must be a non-empty list: without a route no alert is ever called")
        }
        var routes: [Route] = []
        var names: Set<String> = []
        for (index, raw) in rawRoutes.enumerated() {
            guard let mapping = raw as? [String: Any] else { throw RoutingRulesError(route: "#\(index + 1)", "a route must be a mapping") }
            guard let name = mapping["name"] as? String, !name.isEmpty else {
                throw RoutingRulesError(route: "#\(index + 1)", "name is required")
            }
            guard names.insert(name).inserted else { throw RoutingRulesError(route: name, "another route has this name") }
            try Self.onlyKeys(mapping, ["name", "match", "matchRegex", "call", "priority", "ttl", "voice", "continue", "escalate"], where: name, in: "the route")
            var match: [String: String] = [:]
            if let value = mapping["match"] {
                guard let labels = value as? [String: Any] else { throw RoutingRulesError(route: name, "match must be a mapping of label to value") }
                for (label, expected) in labels { match[label] = Self.scalarString(expected) }
            }
            var matchRegex: [String: NSRegularExpression] = [:]
            if let value = mapping["matchRegex"] {
                guard let labels = value as? [String: Any] else { throw RoutingRulesError(route: name, "matchRegex must be a mapping of label to regular expression") }
                for (label, pattern) in labels {
                    let source = Self.scalarString(pattern)
                    do {
                        matchRegex[label] = try NSRegularExpression(pattern: source)
                    } catch {
                        throw RoutingRulesError(route: name, "matchRegex.\(label): '\(source)' is not a valid regular expression")
                    }
                }
            }
            let recipients = try Self.recipients(mapping["call"], rosters: rosters, route: name, context: "call")
            let voice = try mapping["voice"].map { value throws(RoutingRulesError) in try Self.voice(value, route: name) } ?? defaultVoice
            guard !voice.isEmpty else { throw RoutingRulesError(route: name, "voice is required (here or in defaults)") }
            let continues: Bool
            switch mapping["continue"] {
            case nil: continues = false
            case let value as Bool: continues = value
            default: throw RoutingRulesError(route: name, "continue must be true or false")
            }
            var route = Route(
                name: name, match: match, matchRegex: matchRegex, recipients: recipients,
                priority: try mapping["priority"].map { value throws(RoutingRulesError) in try Self.priority(value, route: name) } ?? defaultPriority,
                ttl: try mapping["ttl"].map { value throws(RoutingRulesError) in try Self.ttl(value, route: name) } ?? defaultTTL,
                voice: voice, continues: continues, escalation: nil)
            if let value = mapping["escalate"] {
                route.escalation = try Self.escalation(value, route: route, rosters: rosters)
            }
            routes.append(route)
        }
        return RoutingRules(routes: routes)
    }

    // MARK: Pieces

    /// A `call` list: E.164 numbers and `roster:NAME`, rosters expanded,
    /// duplicates dropped, in order.
    static func recipients(_ value: Any?, rosters: [String: [String]], route: String, context: String) throws(RoutingRulesError) -> [String] {
        guard let call = value as? [Any], !call.isEmpty else {
            throw RoutingRulesError(route: route, "\(context) must be a non-empty list of E.164 numbers and roster:NAME")
        }
        var recipients: [String] = []
        for entry in call {
            let text = Self.scalarString(entry)
            if text.hasPrefix("roster:") {
                let roster = String(text.dropFirst("roster:".count))
                guard let numbers = rosters[roster] else { throw RoutingRulesError(route: route, "roster '\(roster)' does not exist") }
                recipients += numbers
            } else {
                recipients.append(try Self.e164(entry, route: route, context: context))
            }
        }
        var seen: Set<String> = []
        return recipients.filter { seen.insert($0).inserted }
    }

    static func onlyKeys(_ mapping: [String: Any], _ allowed: Set<String>, where route: String?, in place: String) throws(RoutingRulesError) {
        for key in mapping.keys.sorted() where !allowed.contains(key) {
            throw RoutingRulesError(route: route, "unknown key '\(key)' in \(place) (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    static func scalarString(_ value: Any) -> String {
        switch value {
        case let string as String: string
        case let bool as Bool: bool ? "true" : "false"
        default: "\(value)"
        }
    }

    static func priority(_ value: Any, route: String?) throws(RoutingRulesError) -> Int {
        guard let priority = value as? Int, ContractLimits.priorityRange.contains(priority) else {
            throw RoutingRulesError(route: route, "priority must be an integer from 1 (highest) to 9")
        }
        return priority
    }

    /// `ttl`: seconds as a number, or `90s`, `15m`, `2h`.
    static func ttl(_ value: Any, route: String?) throws(RoutingRulesError) -> TimeInterval {
        if let number = value as? Int, number > 0 { return TimeInterval(number) }
        if let number = value as? Double, number > 0 { return number }
        let text = Self.scalarString(value).trimmingCharacters(in: .whitespaces)
        let units: [(String, TimeInterval)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (unit, factor) in units where text.hasSuffix(unit) {
            if let amount = Double(text.dropLast(unit.count)), amount > 0 { return amount * factor }
        }
        throw RoutingRulesError(route: route, "ttl must be a duration such as 90s, 15m or 2h (is '\(text)')")
    }

    private static func e164(_ value: Any, route: String?, context: String) throws(RoutingRulesError) -> String {
        let text = Self.scalarString(value)
        let digits = text.unicodeScalars.dropFirst()
        guard text.hasPrefix("+"), (7...15).contains(digits.count), digits.allSatisfy({ ("0"..."9").contains($0) }), digits.first != "0" else {
            // The number itself is not repeated: it may be a real one, half typed.
            throw RoutingRulesError(route: route, "\(context): an entry is not an E.164 number (+ and 7-15 digits) nor roster:NAME")
        }
        return text
    }

    static func voice(_ value: Any, route: String?) throws(RoutingRulesError) -> [VoiceTemplate] {
        guard let segments = value as? [Any], !segments.isEmpty else {
            throw RoutingRulesError(route: route, "voice must be a non-empty list of {voiceId: …} or {text: …}")
        }
        return try segments.map { segment throws(RoutingRulesError) -> VoiceTemplate in
            guard let mapping = segment as? [String: Any], mapping.count == 1 else {
                throw RoutingRulesError(route: route, "each voice segment is {voiceId: …} or {text: …}")
            }
            if let id = mapping["voiceId"] {
                let text = Self.scalarString(id)
                guard VoiceSegment.isValidVoiceId(text) else {
                    throw RoutingRulesError(route: route, "voiceId '\(text)' is not a voice id (1-64 of A-Z a-z 0-9 _ -)")
                }
                return .voiceId(text)
            }
            guard let text = mapping["text"] as? String, !text.isEmpty else {
                throw RoutingRulesError(route: route, "each voice segment is {voiceId: …} or {text: …} (a non-empty template)")
            }
            if text.contains("{{{") || text.contains("{{&") {
                throw RoutingRulesError(route: route, "template '\(text)': {{{…}}} and {{&…}} are not allowed (values must lose $ and ~)")
            }
            let literal = text.replacingOccurrences(of: #"\{\{[^}]*\}\}"#, with: "", options: .regularExpression)
            if literal.contains("$") || literal.contains("~") {
                throw RoutingRulesError(route: route, "template '\(text)': its text may not contain $ or ~ (AICC's separators)")
            }
            do {
                return .text(try MustacheTemplate(string: AlertTemplating.pragma + text), source: text)
            } catch {
                throw RoutingRulesError(route: route, "template '\(text)' does not parse: \(error)")
            }
        }
    }
}

/// A rules file that does not load: `routing.invalid`, naming the route.
public struct RoutingRulesError: Error, Sendable, CustomStringConvertible {
    /// Stable code.
    public var code: String { "routing.invalid" }
    /// The route's name (or `#N`), when the problem is in one.
    public var route: String?
    /// What is wrong.
    public var message: String

    public init(route: String?, _ message: String) {
        self.route = route
        self.message = message
    }

    public var description: String {
        if let route { return "route '\(route)': \(self.message)" }
        return self.message
    }
}
