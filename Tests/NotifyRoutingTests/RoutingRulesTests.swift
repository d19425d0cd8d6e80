import Foundation
import NotifyCore
import NotifyRouting
import Testing

let exampleRules = """
    version: 1
    defaults:
      priority: 5
      ttl: 15m
      voice:
        - text: "Alert {{labels.alertname}} on {{labels.instance}}: {{annotations.summary}}"
    rosters:
      db-oncall: ["+8613800000001", "+8613800000002"]
    routes:
      - name: db-critical
        match: {severity: critical, team: db}
        matchRegex: {alertname: "^(Disk|Postgres)"}
        call: ["roster:db-oncall", "+8613900000000"]
        priority: 1
        voice:
          - voiceId: "1133000000000999"
          - text: "{{labels.alertname}}: {{annotations.summary}}"
      - name: db-audit
        match: {team: db}
        call: ["+8613800000001", "+8613700000007"]
        continue: true
      - name: everything-else
        call: ["+8613700000000"]
    """

func alert(_ labels: [String: String], status: String = "firing", startsAt: String = "2026-12-04T10:00:00Z",
           annotations: [String: String] = ["summary": "disk 95% full"], fingerprint: String? = "fp-1") -> Alert {
    Alert(status: status, labels: labels, annotations: annotations, startsAt: startsAt, fingerprint: fingerprint)
}

@Suite("Routing rules: loading")
struct RoutingRulesTests {
    @Test func theExampleLoads() throws {
        let rules = try RoutingRules.load(yaml: exampleRules)
        #expect(rules.routes.map(\.name) == ["db-critical", "db-audit", "everything-else"])
        #expect(rules.routes[0].recipients == ["+8613800000001", "+8613800000002", "+8613900000000"])
        #expect(rules.routes[0].priority == 1 && rules.routes[1].priority == 5)
        #expect(rules.routes[0].ttl == 900)
        #expect(rules.routes[1].continues && !rules.routes[0].continues)
    }

    @Test(arguments: [
        ("version: 1\nroutes: []\n", nil as String?, "routes must be a non-empty list"),
        ("version: 2\nroutes: [{name: a, call: ['+8613700000000'], voice: [{text: x}]}]\n", nil, "version must be 1"),
        ("version: 1\nroutes:\n  - name: a\n    call: ['+8613700000000']\n    voice: [{text: x}]\n    continu: true\n", "a", "unknown key 'continu'"),
        ("version: 1\nrouts: []\n", nil, "unknown key 'routs'"),
        ("version: 1\nroutes:\n  - name: bad-regex\n    matchRegex: {alertname: '(['}\n    call: ['+8613700000000']\n    voice: [{text: x}]\n", "bad-regex", "not a valid regular expression"),
        ("version: 1\nroutes:\n  - name: r\n    call: ['roster:nobody']\n    voice: [{text: x}]\n", "r", "roster 'nobody' does not exist"),
        ("version: 1\nroutes:\n  - name: n\n    call: ['13800000001']\n    voice: [{text: x}]\n", "n", "not an E.164 number"),
        ("version: 1\nroutes:\n  - name: t\n    call: ['+8613700000000']\n    voice: [{text: '{{#labels}}unclosed'}]\n", "t", "does not parse"),
        ("version: 1\nroutes:\n  - name: raw\n    call: ['+8613700000000']\n    voice: [{text: '{{{labels.x}}}'}]\n", "raw", "not allowed"),
        ("version: 1\nroutes:\n  - name: dollar\n    call: ['+8613700000000']\n    voice: [{text: 'costs $5'}]\n", "dollar", "may not contain $ or ~"),
        ("version: 1\nroutes:\n  - name: novoice\n    call: ['+8613700000000']\n", "novoice", "voice is required"),
        ("version: 1\nroutes:\n  - name: d\n    call: ['+8613700000000']\n    voice: [{text: x}]\n  - name: d\n    call: ['+8613700000000']\n    voice: [{text: x}]\n", "d", "another route has this name"),
        ("version: 1\nroutes: [\n", nil, "not valid YAML"),
    ])
    func refusals(yaml: String, route: String?, message: String) {
        do {
            _ = try RoutingRules.load(yaml: yaml)
            Issue.record("loaded: \(yaml)")
        } catch {
            #expect(error.code == "routing.invalid")
            #expect(error.route == route, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func aNumberThatIsNotE164IsNotRepeatedInTheMessage() {
        do {
            _ = try RoutingRules.load(yaml: "version: 1\nroutes:\n  - name: n\n    call: ['13812345678']\n    voice: [{text: x}]\n")
            Issue.record("loaded")
        } catch {
            #expect(!error.description.contains("13812345678"))
        }
    }
}

@Suite("Routing: matching, templates, keys")
struct RouterTests {
    let router = Router(rules: try! RoutingRules.load(yaml: exampleRules))
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func requests(_ alert: Alert) -> [RoutedRequest] {
        if case .routed(let requests) = router.route(alert, recordTime: now) { return requests }
        return []
    }

    @Test func firstMatchWinsAndContinueGoesOn() {
        let critical = requests(alert(["alertname": "DiskFull", "severity": "critical", "team": "db", "instance": "db-01"]))
        #expect(critical.map(\.called) == ["+8613800000001", "+8613800000002", "+8613900000000"])
        #expect(critical.allSatisfy { $0.priority == 1 && $0.attributes["route"] == "db-critical" })
        // Not critical: db-audit matches and continues to everything-else; +8613800000001 once.
        let warning = requests(alert(["alertname": "DiskFull", "severity": "warning", "team": "db"]))
        #expect(warning.map(\.called) == ["+8613800000001", "+8613700000007", "+8613700000000"])
        #expect(warning.map { $0.attributes["route"] } == ["db-audit", "db-audit", "everything-else"])
        // The regex is anchored only as written: ^ holds, the rest of the value may follow.
        let other = requests(alert(["alertname": "MyDiskFull", "severity": "critical", "team": "db"]))
        #expect(other.first?.attributes["route"] == "db-audit")
        let prefixed = requests(alert(["alertname": "PostgresReplicaLag", "severity": "critical", "team": "db"]))
        #expect(prefixed.first?.attributes["route"] == "db-critical")
    }

    @Test func resolvedAndUnmatchedRingNobody() throws {
        #expect(router.route(alert(["alertname": "X"], status: "resolved"), recordTime: now) == .resolved)
        let narrow = Router(rules: try RoutingRules.load(yaml: "version: 1\nroutes:\n  - name: only-db\n    match: {team: db}\n    call: ['+8613700000000']\n    voice: [{text: x}]\n"))
        #expect(narrow.route(alert(["team": "web"]), recordTime: now) == .unmatched)
    }

    @Test func templatesRenderValuesWithoutDollarOrTildeAndMissingLabelsEmpty() throws {
        let request = try #require(requests(alert(
            ["alertname": "Postgres$Down~", "severity": "critical", "team": "db", "instance": "db-01"],
            annotations: ["summary": "primary <gone> & \"lost\" 数据库 $1~2"])).first)
        #expect(request.segments == [.voiceId("1133000000000999"), .text("PostgresDown: primary <gone> & \"lost\" 数据库 12")])
        let everything = try #require(requests(alert(["alertname": "Cpu"], annotations: [:])).first)
        #expect(everything.segments == [.text("Alert Cpu on :")])
        // What the router makes is a valid notification-request.
        for routed in requests(alert(["alertname": "DiskFull", "severity": "critical", "team": "db"])) {
            let decoded = RequestDecoder().decodeDocument(routed.json)
            #expect(decoded.kind == .valid, "\(decoded.errors)")
            #expect(decoded.request?.expiresAt == now.addingTimeInterval(900))
        }
    }

    @Test func overlongContentIsCutOnTheLastText() throws {
        let long = String(repeating: "警", count: 1200)
        let request = try #require(requests(alert(["alertname": "DiskFull", "severity": "critical", "team": "db"], annotations: ["summary": long])).first)
        let encoded = VoiceContent.segments(request.segments).encoded
        #expect(encoded.unicodeScalars.count == 1000)
        #expect(RequestDecoder().decodeDocument(request.json).kind == .valid)
    }

    @Test func keysAreDeterministicCarryNoNumberAndChangeWithANewFiring() throws {
        let labels = ["alertname": "DiskFull", "severity": "critical", "team": "db"]
        let first = requests(alert(labels))
        let repeated = requests(alert(labels))
        #expect(first.map(\.idempotencyKey) == repeated.map(\.idempotencyKey))
        #expect(Set(first.map(\.idempotencyKey)).count == first.count)
        for request in first {
            #expect(request.idempotencyKey.hasPrefix("alert:") && !request.idempotencyKey.contains(request.called.dropFirst(3)))
        }
        let refired = requests(alert(labels, startsAt: "2026-12-04T11:00:00Z"))
        #expect(Set(refired.map(\.idempotencyKey)).isDisjoint(with: first.map(\.idempotencyKey)))
        // Without a fingerprint, the sorted labels are the identity.
        let a = requests(alert(labels, fingerprint: nil)).map(\.idempotencyKey)
        let b = requests(alert(labels, fingerprint: nil)).map(\.idempotencyKey)
        #expect(a == b && Set(a).isDisjoint(with: first.map(\.idempotencyKey)))
    }

    /// `routing.keySecret` (product §9): keys are HMAC-SHA256 under it,
    /// deterministic across routers (restarts, replicas); without it they are
    /// the SHA-256 keys existing deployments have. The expected values are
    /// Python's `hmac`/`hashlib` over the documented input, an independent
    /// reference.
    @Test func keysUnderTheKeySecretAreHMACsAndUnkeyedKeysStayAsTheyWere() throws {
        let labels = ["alertname": "DiskFull", "severity": "critical", "team": "db"]
        let secret = "a-routing-key-secret-0123456789"
        func keyed(_ secret: String?) -> [String] {
            let router = Router(rules: try! RoutingRules.load(yaml: exampleRules), keySecret: secret)
            guard case .routed(let requests) = router.route(alert(labels), recordTime: now) else { return [] }
            return requests.map(\.idempotencyKey)
        }
        // The first recipient of db-critical, +8613800000001.
        #expect(keyed(nil).first == "alert:f2f7f2a9300f72b097f2ad6adcb1188d")
        #expect(keyed(secret).first == "alert:15d7f2fc6b8c5ed0b2f82f7656e3b431")
        #expect(keyed(secret) == keyed(secret), "a restarted worker or another replica makes the same keys")
        #expect(Set(keyed(secret)).isDisjoint(with: keyed(nil)))
        #expect(Set(keyed(secret)).isDisjoint(with: keyed(secret + "-rotated")))
        #expect(Set(keyed(secret)).count == keyed(secret).count)
    }
}

@Suite("Alert records")
struct AlertRecordTests {
    @Test func alertmanagerPayloadsBareAlertsAndCloudEvents() {
        let one = #"{"status":"firing","labels":{"alertname":"A"},"annotations":{},"startsAt":"2026-12-04T10:00:00Z"}"#
        let payload = #"{"version":"4","groupKey":"{}:{alertname=\"A\"}","status":"firing","alerts":[\#(one),\#(one)]}"#
        guard case .alerts(let many) = AlertRecord.decode(value: Array(payload.utf8), headers: []) else { Issue.record("payload"); return }
        #expect(many.count == 2)
        guard case .alerts(let bare) = AlertRecord.decode(value: Array(one.utf8), headers: []) else { Issue.record("bare"); return }
        #expect(bare.first?.labels == ["alertname": "A"])
        let structured = #"{"specversion":"1.0","id":"x","source":"am","type":"alert","data":\#(payload)}"#
        guard case .alerts(let fromEvent) = AlertRecord.decode(
            value: Array(structured.utf8), headers: [(key: "content-type", value: Array("application/cloudevents+json".utf8))])
        else { Issue.record("structured"); return }
        #expect(fromEvent.count == 2)
    }

    @Test(arguments: ["not json", "[1,2]", #"{"status":"burning","labels":{},"startsAt":"2026-12-04T10:00:00Z"}"#,
                      #"{"alerts":"x"}"#, #"{"status":"firing","labels":{"a":1},"startsAt":"2026-12-04T10:00:00Z"}"#,
                      #"{"status":"firing","labels":{},"startsAt":"yesterday"}"#])
    func recordsThatAreNotAlerts(value: String) {
        guard case .notAlerts(let code, let message) = AlertRecord.decode(value: Array(value.utf8), headers: []) else {
            Issue.record("decoded \(value)")
            return
        }
        #expect(code.hasPrefix("alert."))
        #expect(!message.isEmpty)
    }
}
