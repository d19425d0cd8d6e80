import AICCSimulator
import Foundation
import NotifyCore
import Testing

/// Alert routing in the worker process (product §9): alerts on the mock
/// cluster's alerts topic become exactly the routed calls, with the rendered
/// content; repeats ring nobody twice, a new firing rings again, and a crash
/// that makes the worker read everything again rings nobody twice either.
@Suite("Alert routing through the worker process", .serialized, .timeLimit(.minutes(5)))
struct AlertRoutingProcessTests {
    static let rules = """
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
            call: ["roster:db-oncall"]
            priority: 1
            voice:
              - text: "{{labels.alertname}}: {{annotations.summary}}"
          - name: web
            match: {team: web}
            call: ["+8613700000000"]
        """

    static func alert(_ name: String, team: String, severity: String = "critical", status: String = "firing",
                      startsAt: String = "2026-12-04T10:00:00Z", summary: String = "disk 95% full") -> String {
        #"{"status":"\#(status)","labels":{"alertname":"\#(name)","team":"\#(team)","severity":"\#(severity)","instance":"\#(team)-01"},"annotations":{"summary":"\#(summary)"},"startsAt":"\#(startsAt)"}"#
    }

    static func payload(_ alerts: [String]) -> [UInt8] {
        Array(#"{"version":"4","groupKey":"{}:{team=\"db\"}","status":"firing","receiver":"aicc","alerts":[\#(alerts.joined(separator: ","))]}"#.utf8)
    }

    @Test("Routed calls, repeats, a re-fire, resolved/unmatched/garbage, and a full redelivery")
    func alertsBecomeRoutedCalls() async throws {
        try await ProcessScenario.with(simulator: .init()) { s in
            let rulesFile = s.logDirectory.appendingPathComponent("rules.yaml")
            try Self.rules.write(to: rulesFile, atomically: true, encoding: .utf8)
            let environment = s.environment([
                "AICC_NOTIFY_ROUTING_FILE": rulesFile.path, "AICC_NOTIFY_LOG_LEVEL": "info",
                "AICC_NOTIFY_KAFKA_GROUP_ID": "routing-1",
            ])
            // An Alertmanager payload (a db-critical alert, a web alert, a resolved one), a
            // bare alert no route matches, and a record that is not an alert.
            try await s.produceRaw([
                (key: "g1", value: Self.payload([
                    Self.alert("DiskFull", team: "db"), Self.alert("SlowPages", team: "web", severity: "warning"),
                    Self.alert("OldNews", team: "db", status: "resolved"),
                ])),
                (key: "b1", value: Array(Self.alert("Cpu", team: "ops").utf8)),
                (key: "junk", value: Array("not an alert".utf8)),
            ], topic: ProcessScenario.alertsTopic)
            var worker = try s.startWorker(environment)
            try await s.waitUntil("3 routed requests have results", timeout: .seconds(90)) {
                try s.distinctResults().count == 3
            }
            let stats = s.simulator.stats
            #expect(stats.acceptedCalls(to: "+8613800000001", voiceContent: "$DiskFull: disk 95% full$") == 1)
            #expect(stats.acceptedCalls(to: "+8613800000002", voiceContent: "$DiskFull: disk 95% full$") == 1)
            #expect(stats.acceptedCalls(to: "+8613700000000", voiceContent: "$Alert SlowPages on web-01: disk 95% full$") == 1)
            #expect(stats.totalCalls == 3)
            let results = try s.distinctResults()
            #expect(results.values.allSatisfy { $0.outcome == .accepted && $0.requestId.hasPrefix("alert:") })
            #expect(Set(results.values.compactMap { $0.attributes["route"] }) == ["db-critical", "web"])
            #expect(results.values.allSatisfy { $0.attributes["alert.name"] != nil && $0.attributes["alert.status"] == "firing" })
            let deadLetters = try s.deadLetters()
            #expect(deadLetters.map(\.code) == ["alert.json"], "\(deadLetters)")

            // Alertmanager repeats the same firing: nobody rings again (the results are republished).
            try await s.produceRaw([(key: "g1", value: Self.payload([Self.alert("DiskFull", team: "db")]))], topic: ProcessScenario.alertsTopic)
            try await s.waitUntil("the repeat is republished", timeout: .seconds(60)) {
                try s.allResultPayloads().values.map(\.count).reduce(0, +) == 5
            }
            #expect(s.simulator.stats.totalCalls == 3)

            // A new firing (new startsAt) rings again.
            try await s.produceRaw([(key: "g1", value: Self.payload([Self.alert("DiskFull", team: "db", startsAt: "2026-12-04T11:00:00Z")]))],
                                   topic: ProcessScenario.alertsTopic)
            try await s.waitUntil("the re-fire has results", timeout: .seconds(60)) {
                try s.distinctResults().count == 5
            }
            #expect(s.simulator.stats.acceptedCalls(to: "+8613800000001") == 2)

            // A crash, then everything read again (as after a kill -9 between producing the
            // requests and committing the alert): the same requests, and nobody rings twice.
            worker.signal(SIGKILL)
            _ = worker.waitForExit(timeout: 10)
            let before = try s.allResultPayloads().values.map(\.count).reduce(0, +)
            worker = try s.startWorker(s.environment([
                "AICC_NOTIFY_ROUTING_FILE": rulesFile.path, "AICC_NOTIFY_LOG_LEVEL": "info",
                "AICC_NOTIFY_KAFKA_GROUP_ID": "routing-2",
            ]))
            try await s.waitUntil("everything is read and republished again", timeout: .seconds(90)) {
                try s.allResultPayloads().values.map(\.count).reduce(0, +) >= before + 7
            }
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)
            #expect(s.simulator.stats.totalCalls == 5)
            #expect(try s.distinctResults().count == 5)
            let log = worker.stderrText
            #expect(log.contains("alert resolved: nobody is called"))
            #expect(log.contains("alert matched no route: nobody is called"))
        }
    }

    @Test("SIGKILL at random moments while 300 alerts are routed: every routed request has a result, no number rings twice")
    func killedWhileRouting() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.latency = .milliseconds(30)
        try await ProcessScenario.with(simulator: simulator) { s in
            let rulesFile = s.logDirectory.appendingPathComponent("rules.yaml")
            // Every alert to its own number (a roster of one per team), so that a second ring would show.
            let teams = (0..<300).map { "t\($0)" }
            var rules = "version: 1\ndefaults:\n  voice: [{text: \"{{labels.alertname}} for {{labels.team}}\"}]\nroutes:\n"
            for (index, team) in teams.enumerated() {
                rules += "  - name: \(team)\n    match: {team: \(team)}\n    call: [\"+86139\(String(format: "%08d", index))\"]\n"
            }
            try rules.write(to: rulesFile, atomically: true, encoding: .utf8)
            try await s.produceRaw(teams.map { (key: $0, value: Array(Self.alert("Down", team: $0).utf8)) }, topic: ProcessScenario.alertsTopic)
            let environment = s.environment(["AICC_NOTIFY_ROUTING_FILE": rulesFile.path, "AICC_NOTIFY_KAFKA_GROUP_ID": "routing-kill"])
            var random = SystemRandomNumberGenerator()
            for round in 0..<3 where try s.distinctResults().count < teams.count {
                let before = try s.distinctResults().count
                let worker = try s.startWorker(environment)
                try await s.waitUntil("round \(round) makes progress", timeout: .seconds(60)) {
                    try s.distinctResults().count > before
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...300, using: &random)))
                worker.signal(SIGKILL)
                _ = worker.waitForExit(timeout: 10)
            }
            let last = try s.startWorker(environment)
            try await s.waitUntil("every alert's request has a result", timeout: .seconds(120)) {
                try s.distinctResults().count == teams.count
            }
            last.signal(SIGTERM)
            #expect(last.waitForExit(timeout: 30) == 0)
            let stats = s.simulator.stats
            for index in teams.indices {
                #expect(stats.calls(to: "+86139\(String(format: "%08d", index))") <= 1, "t\(index) rang twice")
            }
            let results = try s.distinctResults()
            #expect(results.values.allSatisfy { $0.requestId.hasPrefix("alert:") })
            // A claim whose call was under way when the worker died is reported, not called again.
            #expect(results.values.allSatisfy { $0.outcome == .accepted || $0.outcome == .indeterminate })
        }
    }

    @Test("A rules file that does not load stops run at start: exit 2, naming the route")
    func badRulesStopTheStart() async throws {
        try await ProcessScenario.with(simulator: .init()) { s in
            let rulesFile = s.logDirectory.appendingPathComponent("bad.yaml")
            try Self.rules.replacingOccurrences(of: "roster:db-oncall", with: "roster:nobody").write(to: rulesFile, atomically: true, encoding: .utf8)
            let worker = try s.startWorker(s.environment(["AICC_NOTIFY_ROUTING_FILE": rulesFile.path]))
            #expect(worker.waitForExit(timeout: 30) == 2)
            let last = worker.stderrText.split(separator: "\n").last.map(String.init) ?? ""
            #expect(last.contains("config.invalid") && last.contains("routing.file") && last.contains("route 'db-critical'")
                    && last.contains("roster 'nobody' does not exist"), "\(last)")

            // Escalation (product §12) needs status reports: `escalate` with callbacks off stops the start.
            try Self.escalatingRules.write(to: rulesFile, atomically: true, encoding: .utf8)
            let escalating = try s.startWorker(s.environment(["AICC_NOTIFY_ROUTING_FILE": rulesFile.path]))
            #expect(escalating.waitForExit(timeout: 30) == 2)
            let refusal = escalating.stderrText.split(separator: "\n").last.map(String.init) ?? ""
            #expect(refusal.contains("config.invalid") && refusal.contains("routing.file") && refusal.contains("route 'db-critical'")
                    && refusal.contains("escalate needs status callbacks"), "\(refusal)")
        }
    }

    /// ``rules`` with an escalation on `db-critical`: step 1 calls `+8613900000009`.
    static let escalatingRules = Self.rules.replacingOccurrences(
        of: "    priority: 1\n", with: "    priority: 1\n    escalate:\n      wait: 5m\n      steps:\n        - call: [\"+8613900000009\"]\n")
}

/// `aicc-notify route` (product §9): the requests an alert would make, as JSON
/// lines `validate -` accepts; `--check` only loads the rules.
@Suite("aicc-notify route")
struct RouteCommandTests {
    func rulesFile(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString).yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func printsRequestsThatValidateAccepts() throws {
        let rules = try rulesFile(AlertRoutingProcessTests.rules)
        defer { try? FileManager.default.removeItem(at: rules) }
        let payload = AlertRoutingProcessTests.payload([
            AlertRoutingProcessTests.alert("DiskFull", team: "db"),
            AlertRoutingProcessTests.alert("Old", team: "db", status: "resolved"),
            AlertRoutingProcessTests.alert("Cpu", team: "ops"),
        ])
        let routed = try ProcessSupport.run(ProcessSupport.binary, ["route", "--rules", rules.path, "-"], stdin: Data(payload))
        #expect(routed.status == 0, "\(routed.stderr)")
        let lines = routed.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(routed.stderr.contains("DiskFull: routed to 2 recipient(s)"))
        #expect(routed.stderr.contains("Old: resolved"))
        #expect(routed.stderr.contains("Cpu: no route matched"))
        let validated = try ProcessSupport.run(ProcessSupport.binary, ["validate", "-"], stdin: Data(routed.stdout.utf8))
        #expect(validated.status == 0, "\(validated.stdout)")
        #expect(validated.stdout.contains("2 document(s) checked, 0 invalid"))
        // The same alert gives the same requests (deterministic keys).
        let again = try ProcessSupport.run(ProcessSupport.binary, ["route", "--rules", rules.path, "-"], stdin: Data(payload))
        let keys = { (text: String) in text.split(separator: "\n").map { $0.components(separatedBy: #""idempotencyKey":""#)[1].prefix(38) } }
        #expect(keys(again.stdout) == keys(routed.stdout))
    }

    @Test func explainPrintsEachStepMaskedWithItsWaitAndVoice() throws {
        let rules = try rulesFile(AlertRoutingProcessTests.escalatingRules)
        defer { try? FileManager.default.removeItem(at: rules) }
        let payload = AlertRoutingProcessTests.payload([
            AlertRoutingProcessTests.alert("DiskFull", team: "db"),
            AlertRoutingProcessTests.alert("Cpu", team: "web"),
            AlertRoutingProcessTests.alert("Old", team: "db", status: "resolved"),
        ])
        let explained = try ProcessSupport.run(ProcessSupport.binary, ["route", "--rules", rules.path, "--explain", "-"], stdin: Data(payload))
        #expect(explained.status == 0, "\(explained.stderr)")
        let text = explained.stdout
        #expect(text.contains("route db-critical: escalates, wait 5m, answered = releaseReason 0, 1 (esc:"), "\(text)")
        #expect(text.contains("step 0, at once: +*********0001, +*********0002 · priority 1 · ttl 15m · voice \"$DiskFull: "), "\(text)")
        #expect(text.contains("step 1, when step 0 is unanswered (at the latest 5m after it): +*********0009 · priority 1"), "\(text)")
        #expect(text.contains("then: exhausted, nobody more is called"))
        #expect(text.contains("route web: rings once (no escalate)"))
        #expect(text.contains("resolved: nobody is called"))
        for number in ["8613800000001", "8613800000002", "8613900000009", "8613700000000"] {
            #expect(!text.contains(number), "numbers are masked")
        }
    }

    @Test func checkLoadsOnlyAndNotAlertsExitOne() throws {
        let good = try rulesFile(AlertRoutingProcessTests.rules)
        let bad = try rulesFile(AlertRoutingProcessTests.rules.replacingOccurrences(of: "matchRegex", with: "x")
            .replacingOccurrences(of: "match: {team: web}", with: "match: {team: web}\n    colour: red"))
        defer {
            try? FileManager.default.removeItem(at: good)
            try? FileManager.default.removeItem(at: bad)
        }
        let ok = try ProcessSupport.run(ProcessSupport.binary, ["route", "--rules", good.path, "--check"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let refused = try ProcessSupport.run(ProcessSupport.binary, ["route", "--rules", bad.path, "--check"])
        #expect(refused.status == 2)
        #expect(refused.stderr.hasPrefix("aicc-notify: routing.invalid: ") && refused.stderr.contains("route 'web': unknown key 'colour'"),
                "\(refused.stderr)")
        let notAlerts = try ProcessSupport.run(ProcessSupport.binary, ["route", "--rules", good.path, "-"], stdin: Data("[1]".utf8))
        #expect(notAlerts.status == 1)
        #expect(notAlerts.stderr.hasPrefix("aicc-notify: alert."), "\(notAlerts.stderr)")
    }
}
