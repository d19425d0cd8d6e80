import Foundation
import NotifyCore
import NotifyRouting
import Testing

let escalatingRules = """
    version: 1
    defaults:
      voice: [{text: "Alert {{labels.alertname}}"}]
    rosters:
      db-primary: ["+8613800000001"]
      db-secondary: ["+8613800000002", "+8613800000003"]
    routes:
      - name: db-critical
        match: {team: db}
        call: ["roster:db-primary"]
        priority: 2
        ttl: 15m
        escalate:
          wait: 5m
          steps:
            - call: ["roster:db-secondary"]
            - call: ["+8613900000000"]
              priority: 1
              voice: [{text: "Nobody answered: {{labels.alertname}}"}]
      - name: web
        call: ["+8613700000000"]
        escalate:
          wait: 90s
          answered: [1]
          steps:
            - call: ["+8613700000001"]
    """

@Suite("Escalation: the rules file")
struct EscalationRulesTests {
    @Test func stepsInheritTheRoutesFieldsAndOverrideWhatTheySay() throws {
        let rules = try RoutingRules.load(yaml: escalatingRules)
        let db = rules.routes[0]
        let policy = try #require(db.escalation)
        #expect(policy.wait == 300)
        #expect(policy.answered == [0, 1])
        #expect(db.lastStep == 2)
        #expect(db.step(0)?.recipients == ["+8613800000001"])
        #expect(db.step(1)?.recipients == ["+8613800000002", "+8613800000003"])
        #expect(db.step(1)?.priority == 2 && db.step(1)?.ttl == 900)
        #expect(db.step(2)?.priority == 1 && db.step(2)?.ttl == 900)
        #expect(db.step(3) == nil)
        let web = rules.routes[1]
        #expect(web.escalation?.wait == 90 && web.escalation?.answered == [1])
        #expect(try RoutingRules.load(yaml: exampleRules).routes.allSatisfy { $0.escalation == nil && $0.lastStep == 0 })
    }

    static let route = "version: 1\nroutes:\n  - name: e\n    call: ['+8613700000000']\n    voice: [{text: x}]\n"

    @Test(arguments: [
        ("    escalate: 5m\n", "escalate must be a mapping"),
        ("    escalate:\n      steps: [{call: ['+8613700000001']}]\n", "escalate.wait is required"),
        ("    escalate:\n      wait: soon\n      steps: [{call: ['+8613700000001']}]\n", "escalate.wait must be a duration"),
        ("    escalate:\n      wait: 5m\n", "escalate.steps must be a non-empty list"),
        ("    escalate:\n      wait: 5m\n      steps: []\n", "escalate.steps must be a non-empty list"),
        ("    escalate:\n      wait: 5m\n      answered: []\n      steps: [{call: ['+8613700000001']}]\n", "escalate.answered must be"),
        ("    escalate:\n      wait: 5m\n      answered: [answered]\n      steps: [{call: ['+8613700000001']}]\n", "escalate.answered must be"),
        ("    escalate:\n      wait: 5m\n      wiat: 5m\n      steps: [{call: ['+8613700000001']}]\n", "unknown key 'wiat' in escalate"),
        ("    escalate:\n      wait: 5m\n      steps: [{calls: ['+8613700000001']}]\n", "unknown key 'calls' in escalate.steps[0]"),
        ("    escalate:\n      wait: 5m\n      steps: [{priority: 1}]\n", "escalate.steps[0].call must be a non-empty list"),
        ("    escalate:\n      wait: 5m\n      steps: [{call: ['roster:nobody']}]\n", "roster 'nobody' does not exist"),
        ("    escalate:\n      wait: 5m\n      steps: [{call: ['+8613700000001']}, {call: ['0800']}]\n", "escalate.steps[1].call: an entry is not an E.164"),
        ("    escalate:\n      wait: 5m\n      steps: [{call: ['+8613700000001'], priority: 10}]\n", "priority must be"),
        ("    escalate:\n      wait: 5m\n      steps: [{call: ['+8613700000001'], voice: [{text: 'a $ b'}]}]\n", "may not contain $ or ~"),
    ])
    func refusalsNameTheRoute(escalate: String, message: String) {
        do {
            _ = try RoutingRules.load(yaml: Self.route + escalate)
            Issue.record("loaded: \(escalate)")
        } catch {
            #expect(error.code == "routing.invalid")
            #expect(error.route == "e", "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }
}

@Suite("Escalation: the routed requests of each step")
struct EscalationRoutingTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let labels = ["alertname": "DiskFull", "team": "db"]

    @Test func stepZeroKeepsTheKeysOfARouteWithoutEscalateAndLaterStepsGetTheirOwn() throws {
        let router = Router(rules: try RoutingRules.load(yaml: escalatingRules))
        let plain = Router(rules: try RoutingRules.load(yaml: """
            version: 1
            defaults:
              voice: [{text: "Alert {{labels.alertname}}"}]
            rosters:
              db-primary: ["+8613800000001"]
            routes:
              - name: db-critical
                match: {team: db}
                call: ["roster:db-primary"]
                priority: 2
                ttl: 15m
            """))
        #expect(plain.rules.routes[0].escalation == nil)
        let firing = alert(labels)
        guard case .routed(let step0) = router.route(firing, recordTime: now),
              case .routed(let unescalated) = plain.route(firing, recordTime: now)
        else { Issue.record("not routed"); return }
        #expect(step0.map(\.idempotencyKey) == unescalated.map(\.idempotencyKey), "adding escalate changes no existing key")
        let route = router.rules.routes[0]
        #expect(router.requests(for: firing, route: route, step: 0, recordTime: now) == step0)
        let step1 = router.requests(for: firing, route: route, step: 1, recordTime: now)
        let step2 = router.requests(for: firing, route: route, step: 2, recordTime: now)
        #expect(step1.map(\.called) == ["+8613800000002", "+8613800000003"])
        #expect(step2.map(\.called) == ["+8613900000000"] && step2[0].priority == 1)
        #expect(step2[0].segments == [.text("Nobody answered: DiskFull")])
        #expect(router.requests(for: firing, route: route, step: 3, recordTime: now).isEmpty)
        let keys = (step0 + step1 + step2).map(\.idempotencyKey)
        #expect(Set(keys).count == keys.count)
        #expect(router.requests(for: firing, route: route, step: 1, recordTime: now) == step1, "deterministic")
        // Every request of the escalation names it and its step; all are valid requests.
        let id = router.escalationID(for: firing, route: "db-critical")
        #expect(id.hasPrefix("esc:") && id.count == 36)
        for (index, requests) in [step0, step1, step2].enumerated() {
            for request in requests {
                #expect(request.attributes["escalation.id"] == id)
                #expect(request.attributes["escalation.step"] == "\(index)")
                #expect(request.step == index && request.route == "db-critical")
                #expect(RequestDecoder().decodeDocument(request.json).kind == .valid)
            }
        }
        #expect(unescalated.allSatisfy { $0.attributes["escalation.id"] == nil })
        // A new firing is another escalation; the key secret makes other ids.
        #expect(router.escalationID(for: alert(labels, startsAt: "2026-12-04T11:00:00Z"), route: "db-critical") != id)
        let keyed = Router(rules: router.rules, keySecret: "a-routing-key-secret-0123456789")
        #expect(keyed.escalationID(for: firing, route: "db-critical") != id)
        #expect(keyed.escalationID(for: firing, route: "db-critical") == keyed.escalationID(for: firing, route: "db-critical"))
    }
}

@Suite("Escalation: the rule")
struct EscalationRuleTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = RoutingRules.EscalationPolicy(
        wait: 300, answered: [0, 1],
        steps: [RoutingRules.Step(recipients: ["+8613800000002", "+8613800000003"], priority: 2, ttl: nil, voice: []),
                RoutingRules.Step(recipients: ["+8613900000000"], priority: 1, ttl: nil, voice: [])])

    func ids(_ step: Int) -> [String] {
        switch step {
        case 0: ["k0a"]
        case 1: ["k1a", "k1b"]
        case 2: ["k2a"]
        default: []
        }
    }

    func fresh() -> EscalationState {
        EscalationState(
            id: "esc:0123456789abcdef0123456789abcdef", route: "db-critical",
            alert: .init(name: "DiskFull", fingerprint: "fp-1", startsAt: "2026-12-04T10:00:00Z"),
            requestIds: ids(0), now: t0, wait: policy.wait)
    }

    func apply(_ state: inout EscalationState, _ input: EscalationState.Input, after seconds: TimeInterval = 0) -> EscalationState.Transition {
        state.apply(input, at: t0.addingTimeInterval(seconds), policy: policy, nextStep: ids)
    }

    @Test func anAnsweredReportEndsItAndNothingMoreRings() {
        var state = fresh()
        #expect(apply(&state, .result(requestId: "k0a", outcome: .accepted)) == .updated)
        #expect(apply(&state, .result(requestId: "k0a", outcome: .accepted)) == .unchanged, "a redelivered result")
        #expect(apply(&state, .report(requestId: "k0a", releaseReason: 1, callSerialNo: "1182")) == .ended(.answered))
        #expect(state.phase == .answered && state.answeredBy == "1182" && state.step == 0)
        // After the end, nothing changes it: not the deadline, not a report, not the alert.
        let ended = state
        #expect(apply(&state, .tick, after: 10_000) == .unchanged)
        #expect(apply(&state, .report(requestId: "k0a", releaseReason: 4, callSerialNo: "1182")) == .unchanged)
        #expect(apply(&state, .alert(status: "resolved", startsAt: "2026-12-04T10:00:00Z")) == .unchanged)
        #expect(state == ended)
    }

    @Test func theDeadlineEscalatesOnceAndTheLastStepEndsExhausted() {
        var state = fresh()
        #expect(apply(&state, .result(requestId: "k0a", outcome: .accepted)) == .updated)
        #expect(apply(&state, .tick, after: 299) == .unchanged, "before the deadline")
        #expect(apply(&state, .tick, after: 300) == .escalated(step: 1))
        #expect(state.step == 1 && state.deadline == t0.addingTimeInterval(600))
        #expect(state.requestIds(ofStep: 1) == ["k1a", "k1b"])
        #expect(apply(&state, .tick, after: 301) == .unchanged, "a second worker's tick for the same deadline")
        #expect(apply(&state, .tick, after: 600) == .escalated(step: 2))
        #expect(apply(&state, .tick, after: 900) == .ended(.exhausted))
        #expect(state.phase == .exhausted && state.reason == "unanswered" && state.step == 2)
    }

    @Test func aStepWhoseCallsAllEndedUnansweredEscalatesBeforeItsDeadline() {
        var state = fresh()
        #expect(apply(&state, .result(requestId: "k0a", outcome: .accepted)) == .updated)
        #expect(apply(&state, .report(requestId: "k0a", releaseReason: 4, callSerialNo: "1")) == .escalated(step: 1))
        // The same report redelivered (AICC retries, or a second replica gets it)
        // does not escalate again.
        let escalated = state
        #expect(apply(&state, .report(requestId: "k0a", releaseReason: 4, callSerialNo: "1"), after: 1) == .unchanged)
        #expect(state == escalated)
        // Step 1 has two calls: one failing is not enough; both are.
        #expect(apply(&state, .result(requestId: "k1a", outcome: .failed), after: 5) == .updated)
        #expect(apply(&state, .result(requestId: "k1b", outcome: .accepted), after: 5) == .updated)
        #expect(apply(&state, .report(requestId: "k1b", releaseReason: 6, callSerialNo: "2"), after: 9) == .escalated(step: 2))
        #expect(state.deadline == t0.addingTimeInterval(309))
    }

    @Test(arguments: [NotificationResult.Outcome.failed, .rejected, .expired, .suppressed, .indeterminate])
    func aResultThatPlacedNoCallEndsTheCall(outcome: NotificationResult.Outcome) {
        var state = fresh()
        #expect(apply(&state, .result(requestId: "k0a", outcome: outcome)) == .escalated(step: 1))
    }

    @Test func aDuplicateIsAPlacedCall() {
        var state = fresh()
        #expect(apply(&state, .result(requestId: "k0a", outcome: .duplicate)) == .updated)
        #expect(state.phase == .waiting && state.calls[0].phase == .placed)
    }

    @Test func reasonsOutsideTheAnsweredListAreUnansweredAndTheListIsThePolicys() {
        var state = fresh()
        #expect(apply(&state, .report(requestId: "k0a", releaseReason: nil, callSerialNo: nil)) == .escalated(step: 1))
        var strict = fresh()
        var onlyPlayed = policy
        onlyPlayed.answered = [1]
        #expect(strict.apply(.report(requestId: "k0a", releaseReason: 0, callSerialNo: "9"), at: t0, policy: onlyPlayed, nextStep: ids) == .escalated(step: 1))
        #expect(strict.apply(.report(requestId: "k1a", releaseReason: 1, callSerialNo: "10"), at: t0, policy: onlyPlayed, nextStep: ids) == .ended(.answered))
        #expect(strict.answeredBy == "10" && strict.step == 1)
    }

    @Test func aLateAnswerFromAnEarlierStepEndsItAnswered() {
        var state = fresh()
        #expect(apply(&state, .tick, after: 300) == .escalated(step: 1))
        #expect(apply(&state, .report(requestId: "k0a", releaseReason: 0, callSerialNo: "77"), after: 320) == .ended(.answered))
        #expect(state.answeredBy == "77" && state.step == 1)
    }

    @Test func inputsForOtherRequestsChangeNothing() {
        var state = fresh()
        let before = state
        #expect(apply(&state, .result(requestId: "someone-else", outcome: .failed)) == .unchanged)
        #expect(apply(&state, .report(requestId: "someone-else", releaseReason: 1, callSerialNo: "1")) == .unchanged)
        #expect(apply(&state, .alert(status: "firing", startsAt: "2026-12-04T10:00:00Z")) == .unchanged, "a repeat of the firing")
        #expect(state == before)
    }

    @Test func aResolvedAlertOrANewFiringEndsIt() {
        var resolved = fresh()
        #expect(apply(&resolved, .alert(status: "resolved", startsAt: "2026-12-04T10:00:00Z")) == .ended(.resolved))
        #expect(resolved.reason == "alert.resolved")
        var refired = fresh()
        #expect(apply(&refired, .tick, after: 300) == .escalated(step: 1))
        #expect(apply(&refired, .alert(status: "firing", startsAt: "2026-12-04T11:00:00Z"), after: 310) == .ended(.resolved))
        #expect(refired.reason == "alert.refired" && refired.step == 1)
        #expect(apply(&refired, .tick, after: 10_000) == .unchanged)
    }

    @Test func callsOnlyMoveForward() {
        var state = fresh()
        #expect(apply(&state, .report(requestId: "k0a", releaseReason: 4, callSerialNo: "1")) == .escalated(step: 1))
        // The result arriving after its report does not bring the call back.
        #expect(apply(&state, .result(requestId: "k0a", outcome: .accepted)) == .unchanged)
        #expect(state.calls[0].phase == .ended)
    }

    @Test func aRouteWhoseNextStepMakesNoRequestEndsExhausted() {
        var state = fresh()
        let transition = state.apply(.tick, at: t0.addingTimeInterval(300), policy: policy, nextStep: { _ in [] })
        #expect(transition == .ended(.exhausted))
    }

    @Test func theStateSurvivesTheStoresJSON() throws {
        var state = fresh()
        _ = apply(&state, .tick, after: 300)
        let decoded = try JSONDecoder().decode(EscalationState.self, from: JSONEncoder().encode(state))
        #expect(decoded == state)
    }
}

@Suite("Escalation events and their schema")
struct EscalationEventSchemaTests {
    static let schemas = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schemas")

    /// `file name -> valid` from python-jsonschema through `schemas/tools/check_examples.py`.
    static func pythonVerdicts(_ files: [URL]) throws -> [String: Bool] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", schemas.appendingPathComponent("tools/check_examples.py").path,
                             "--schema", schemas.appendingPathComponent("escalation.v1.schema.json").path] + files.map(\.path)
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var verdicts: [String: Bool] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            if parts.count >= 2 { verdicts[URL(fileURLWithPath: String(parts[1])).lastPathComponent] = parts[0] == "valid" }
        }
        return verdicts
    }

    /// One event of each state, made by the rule and the encoder.
    static func events() -> [String: EscalationEvent] {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let policy = RoutingRules.EscalationPolicy(
            wait: 300, answered: [0, 1], steps: [RoutingRules.Step(recipients: ["+8613800000002"], priority: 2, ttl: nil, voice: [])])
        func fresh() -> EscalationState {
            EscalationState(
                id: "esc:0123456789abcdef0123456789abcdef", route: "db-critical",
                alert: .init(name: "DiskFull", fingerprint: "fp-1", startsAt: "2026-12-04T10:00:00Z"),
                requestIds: ["alert:aa"], now: t0, wait: 300)
        }
        let next = { (step: Int) in step == 1 ? ["alert:bb"] : [] }
        var escalated = fresh()
        _ = escalated.apply(.tick, at: t0.addingTimeInterval(300), policy: policy, nextStep: next)
        var answered = escalated
        _ = answered.apply(.report(requestId: "alert:bb", releaseReason: 1, callSerialNo: "1182"), at: t0, policy: policy, nextStep: next)
        var exhausted = escalated
        _ = exhausted.apply(.tick, at: t0.addingTimeInterval(600), policy: policy, nextStep: next)
        var resolved = fresh()
        _ = resolved.apply(.alert(status: "firing", startsAt: "2026-12-04T11:00:00Z"), at: t0, policy: policy, nextStep: next)
        return [
            "escalated": EscalationEvent(after: escalated, recipients: ["+8613800000002"], at: t0.addingTimeInterval(300)),
            "answered": EscalationEvent(after: answered, at: t0.addingTimeInterval(330)),
            "exhausted": EscalationEvent(after: exhausted, at: t0.addingTimeInterval(600)),
            "resolved": EscalationEvent(after: resolved, at: t0.addingTimeInterval(10)),
        ]
    }

    @Test func everyStateTheEncoderWritesPassesTheSchemaAndMasksNumbers() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aicc-notify-escalation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var files: [URL] = []
        for (state, event) in Self.events() {
            #expect(event.state.rawValue == state)
            let file = directory.appendingPathComponent("\(state).json")
            try Data(event.jsonBytes).write(to: file)
            files.append(file)
            let text = String(decoding: event.jsonBytes, as: UTF8.self)
            #expect(!text.contains("8613800000002"), "numbers are masked: \(text)")
        }
        let verdicts = try Self.pythonVerdicts(files)
        for file in files { #expect(verdicts[file.lastPathComponent] == true, "schema refuses \(file.lastPathComponent)") }
        let escalated = try #require(Self.events()["escalated"])
        #expect(escalated.step == 1 && escalated.requestIds == ["alert:bb"] && escalated.recipients == ["+*********0002"])
        #expect(Self.events()["answered"]?.callSerialNo == "1182")
        #expect(Self.events()["resolved"]?.reason == "alert.refired")
    }

    /// The examples in `schemas/examples/escalation/` are what the encoder
    /// writes for the same decisions, byte for byte, and pass the schema; the
    /// `invalid/` ones fail it.
    @Test func theExamplesAreTheEncodersAndTheSchemaHoldsThem() throws {
        let folder = Self.schemas.appendingPathComponent("examples/escalation")
        for (state, event) in Self.events() {
            let encoded = String(decoding: event.jsonBytes, as: UTF8.self)
            let example = (try? Data(contentsOf: folder.appendingPathComponent("\(state).json"))).map { String(decoding: $0, as: UTF8.self) }
            #expect(example?.trimmingCharacters(in: .whitespacesAndNewlines) == encoded, "\(state).json should be: \(encoded)")
        }
        let valid = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).filter { $0.pathExtension == "json" }
        let invalid = try FileManager.default.contentsOfDirectory(at: folder.appendingPathComponent("invalid"), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
        #expect(valid.count == 4 && invalid.count >= 4)
        let verdicts = try Self.pythonVerdicts(valid + invalid)
        for file in valid { #expect(verdicts[file.lastPathComponent] == true, "schema refuses \(file.lastPathComponent)") }
        for file in invalid { #expect(verdicts[file.lastPathComponent] == false, "schema accepts \(file.lastPathComponent)") }
    }
}
