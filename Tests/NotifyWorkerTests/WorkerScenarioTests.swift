import AICCSimulator
import AICCWire
import NotifyHTTP
import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import NotifyCore
import NotifyStore
import NotifyStoreSQLite
import NotifyWorker
import Testing

/// The worker end to end in this process: mock Kafka over TCP, the AICC
/// simulator over HTTP, a real SQLite file (issue #6, "Done when").
@Suite(.serialized)
struct WorkerScenarioTests {
    @Test func thousandValidRequestsAreAcceptedOncePerKey() async throws {
        try await WorkerHarness.with { h in
            let requests = (0..<1000).map { TestRequest("r-\($0)", called: phoneNumber($0)) }
            try await h.produce(requests: requests)
            try await h.withWorker(h.configuration()) { _ in
                let results = try await h.waitForResults(1000)
                try await h.waitForCommittedEnd()
                #expect(results.count == 1000)
                #expect(Set(results.map(\.result.requestId)) == Set(requests.map(\.requestId)))
                #expect(results.allSatisfy { $0.result.outcome == .accepted && $0.result.callSerialNo != nil })
                #expect(results.allSatisfy { $0.key == $0.result.idempotencyKey })
            }
            let stats = h.simulator.stats
            #expect(stats.totalCalls == 1000)
            #expect(stats.accepted == 1000)
            #expect(requests.allSatisfy { stats.calls(to: $0.called) == 1 })
            // Published and nothing more: no result twice.
            #expect(try await h.results().count == 1000)
        }
    }

    /// The worker's producer lingers 25 ms (`Worker.producerLinger`, README:
    /// librdkafka 2.0.2's idempotent producer busy-polls with a shorter one),
    /// and a `linger.ms` in `kafka.properties` wins: what librdkafka holds.
    /// Producer-only properties reach only the producer and consumer-only ones
    /// only the consumers: librdkafka warns about none of them.
    @Test func theProducerLingers25MillisecondsUnlessKafkaPropertiesSetsIt() async throws {
        try await WorkerHarness.with { h in
            try await h.withWorker(h.configuration()) { worker in
                #expect(worker.producer.configurationValue("linger.ms") == "25")
            }
            let lines = NIOLockedValueBox<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])
            let logger = Logger(label: "worker") { _ in LeaseRenewerTests.RecordingLogHandler(lines: lines) }
            // fastGroupProperties (session.timeout.ms, …) are consumer-only.
            let configuration = h.configuration { $0.kafka.properties.merge(["linger.ms": "40", "acks": "all"]) { _, new in new } }
            try await h.withWorker(configuration, logger: logger) { worker in
                #expect(worker.producer.configurationValue("linger.ms") == "40")
                #expect(worker.producer.configurationValue("session.timeout.ms") == "45000")  // librdkafka's default: not passed
            }
            let ignored = lines.withLockedValue { $0 }.filter { $0.message.contains("will be ignored") }
            #expect(ignored.isEmpty, "\(ignored.map(\.message))")
            #expect(lines.withLockedValue { $0.count } > 0)
        }
    }

    @Test func everyKeyThreeTimesMakesOneCallPerKey() async throws {
        try await WorkerHarness.with { h in
            // 100 keys, each sent by three requests with the same content.
            let requests = (0..<300).map { TestRequest("r-\($0)", key: "k-\($0 % 100)", called: phoneNumber($0 % 100)) }
            try await h.produce(requests: requests)
            try await h.withWorker(h.configuration()) { _ in
                let results = try await h.waitForResults(300)
                try await h.waitForCommittedEnd()
                #expect(results.count == 300)
                let byKey = Dictionary(grouping: results.map(\.result), by: \.idempotencyKey)
                #expect(byKey.count == 100)
                for (key, group) in byKey {
                    let accepted = group.filter { $0.outcome == .accepted }
                    let duplicates = group.filter { $0.outcome == .duplicate }
                    #expect(accepted.count == 1, "key \(key)")
                    #expect(duplicates.count == 2, "key \(key)")
                    let original = try #require(accepted.first)
                    for duplicate in duplicates {
                        #expect(duplicate.duplicateOf == .init(requestId: original.requestId, outcome: .accepted))
                        #expect(duplicate.callSerialNo == original.callSerialNo)
                        #expect(duplicate.attempts == 0)
                    }
                }
            }
            #expect(h.simulator.stats.totalCalls == 100)
        }
    }

    @Test func redeliveryRepublishesTheStoredResultUnchanged() async throws {
        try await WorkerHarness.with { h in
            let request = TestRequest("r-redelivered", called: phoneNumber(7))
            try await h.produce(requests: [request])
            try await h.withWorker(h.configuration()) { _ in
                try await h.waitForResults(1)
                // The producer retries: the same request again.
                try await h.produce(requests: [request])
                try await h.waitForResults(2)
            }
            let results = try await h.results()
            #expect(results.count == 2)
            #expect(results[0].raw == results[1].raw)
            #expect(results[0].result.outcome == .accepted)
            #expect(h.simulator.stats.totalCalls == 1)
        }
    }

    @Test func sameKeyDifferentContentIsAConflict() async throws {
        try await WorkerHarness.with { h in
            // Two produce calls: one call sends its records concurrently, so
            // their order in the partition would be up to chance.
            try await h.produce(requests: [TestRequest("r-first", key: "reused", called: phoneNumber(1), text: "Disk full")])
            try await h.produce(requests: [
                TestRequest("r-second", key: "reused", called: phoneNumber(1), text: "Something else entirely")
            ])
            try await h.withWorker(h.configuration()) { _ in
                let results = try await h.waitForResults(2)
                let byId = Dictionary(uniqueKeysWithValues: results.map { ($0.result.requestId, $0.result) })
                #expect(byId["r-first"]?.outcome == .accepted)
                #expect(byId["r-second"]?.outcome == .rejected)
                #expect(byId["r-second"]?.error?.code == "idempotency.conflict")
            }
            #expect(h.simulator.stats.totalCalls == 1)
        }
    }

    @Test func invalidAndGarbageRecordsAreRejectedOrDeadLetteredWithoutCalls() async throws {
        try await WorkerHarness.with { h in
            let examples = ProcessSupport.repositoryRoot.appendingPathComponent("schemas/examples/invalid")
            let files = try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".json") }.sorted()
            #expect(files.count > 50)
            var records: [(key: String?, value: [UInt8])] = try files.map { file in
                (key: file, value: Array(try Data(contentsOf: examples.appendingPathComponent(file))))
            }
            var random = SplitMix64(seed: 6)
            for index in 0..<50 {
                records.append((key: "garbage-\(index)", value: (0..<(1 + Int(random.next() % 200))).map { _ in UInt8(truncatingIfNeeded: random.next()) }))
            }
            try await h.produce(records)
            // The worker keeps going: a valid request after all of them.
            try await h.produce(requests: [TestRequest("r-valid-after-garbage", called: phoneNumber(3))])

            try await h.withWorker(h.configuration()) { _ in
                try await h.waitForCommittedEnd(timeout: .seconds(60))
            }
            let results = try await h.results()
            let deadLetters = try await h.records(of: h.deadLetterTopic)
            // Every record is accounted for: a result, a dead-letter record, or both.
            let input = try await h.records(of: h.requestsTopic)
            let resultOffsets = Set(results.map { "\($0.result.source.partition)/\($0.result.source.offset)" })
            var deadOffsets: Set<String> = []
            for record in deadLetters {
                if let partition = record.header(DeadLetterHeader.sourcePartition), let offset = record.header(DeadLetterHeader.sourceOffset) {
                    deadOffsets.insert("\(partition)/\(offset)")
                }
            }
            for record in input {
                #expect(resultOffsets.contains("\(record.partition)/\(record.offset)") || deadOffsets.contains("\(record.partition)/\(record.offset)"),
                        "record \(record.partition)/\(record.offset) has neither a result nor a dead-letter record")
            }
            #expect(results.filter { $0.result.outcome == .rejected }.count == results.count - 1)
            let contractFamilies = ["validation.", "decode.", "cloudevents."]
            for published in results where published.result.outcome == .rejected {
                let code = published.result.error?.code ?? ""
                #expect(contractFamilies.contains { code.hasPrefix($0) }, "rejected with \(code)")
            }
            #expect(deadLetters.count >= 50)
            for record in deadLetters {
                for header in DeadLetterHeader.all {
                    #expect(record.header(header) != nil, "dead-letter record lacks \(header)")
                }
                #expect(record.header(DeadLetterHeader.sourceTopic) == h.requestsTopic)
                #expect(record.header(DeadLetterHeader.workerId) == "test-worker")
            }
            // The original bytes are untouched.
            let garbage = records.filter { $0.key?.hasPrefix("garbage-") == true }
            for original in garbage {
                let copy = deadLetters.first { $0.key == original.key }
                #expect(copy != nil, "\(original.key!) not dead-lettered")
            }
            #expect(results.first { $0.result.requestId == "r-valid-after-garbage" }?.result.outcome == .accepted)
            #expect(h.simulator.stats.totalCalls == 1)
        }
    }

    @Test func transientFaultsAreRetriedUntilAcceptedAndNeverCallTwice() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.faults = .init(http500: 0.1, retCode1: 0.1, retCode3: 0.1)
        try await WorkerHarness.with(simulator: simulator) { h in
            let requests = (0..<300).map { TestRequest("r-\($0)", called: phoneNumber($0)) }
            try await h.produce(requests: requests)
            let configuration = h.configuration { $0.retry.maxAttempts = 20 }
            try await h.withWorker(configuration) { _ in
                let results = try await h.waitForResults(300, timeout: .seconds(90))
                #expect(results.allSatisfy { $0.result.outcome == .accepted })
                #expect(results.contains { $0.result.attempts > 1 })
            }
            let stats = h.simulator.stats
            #expect(stats.totalCalls > 300)
            #expect(requests.allSatisfy { stats.acceptedCalls(to: $0.called) == 1 })
            // No key reached AICC again after an accepted answer.
            let calls = h.simulator.calls
            for request in requests {
                let mine = calls.filter { $0.called == request.called }
                let firstAccepted = try #require(mine.firstIndex { $0.answer == "accepted" })
                #expect(firstAccepted == mine.count - 1, "\(request.requestId) called after acceptance")
            }
        }
    }

    @Test func shortLivedTokensAreRefreshedWithoutFailures() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.tokenLifetime = .milliseconds(100)  // ~50 calls at 500 calls/s
        try await WorkerHarness.with(simulator: simulator) { h in
            let requests = (0..<500).map { TestRequest("r-\($0)", called: phoneNumber($0)) }
            try await h.produce(requests: requests)
            try await h.withWorker(h.configuration { $0.aicc.callsPerSecond = 500 }) { _ in
                let results = try await h.waitForResults(500, timeout: .seconds(90))
                for published in results where published.result.outcome != .accepted {
                    Issue.record("\(published.result.requestId): \(published.raw)")
                }
            }
            let stats = h.simulator.stats
            #expect(stats.tokensIssued >= 5)
            #expect(stats.accepted == 500)
        }
    }

    @Test func anAICCOutagePausesAndEverythingIsAcceptedAfter() async throws {
        try await WorkerHarness.with { h in
            let requests = (0..<400).map { TestRequest("r-\($0)", called: phoneNumber($0)) }
            try await h.produce(requests: Array(requests.prefix(100)))
            try await h.withWorker(h.configuration { $0.aicc.callsPerSecond = 100 }) { worker in
                try await h.waitForResults(100)
                h.simulator.outage(for: .seconds(10))
                try await h.produce(requests: Array(requests.dropFirst(100)))
                var sawOutage = false
                let deadline = ContinuousClock.now + .seconds(10)
                while !sawOutage && ContinuousClock.now < deadline {
                    sawOutage = worker.dispatch.isOutage
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(sawOutage, "the worker never paused for the outage")
                let results = try await h.waitForResults(400, timeout: .seconds(90))
                #expect(results.count == 400)
                #expect(!results.contains { $0.result.outcome == .failed })
                #expect(results.allSatisfy { $0.result.outcome == .accepted })
                #expect(!worker.dispatch.isOutage)
            }
        }
    }

    /// The claim is the first attempt's start (#24). When that attempt never
    /// leaves — AICC is down at start, so the token fetch fails — the worker
    /// ends it as certainly no call; the retry that gets through is then an
    /// attempt of its own and nothing is left in doubt in the store.
    @Test func aFirstAttemptThatNeverLeftIsEndedNotLeftInDoubt() async throws {
        try await WorkerHarness.with { h in
            let requests = (0..<40).map { TestRequest("r-\($0)", called: phoneNumber($0)) }
            try await h.produce(requests: requests)
            h.simulator.outage(for: .seconds(4))
            let keys = NIOLockedValueBox<[String]>([])
            try await h.withWorker(h.configuration()) { _ in
                let results = try await h.waitForResults(40, timeout: .seconds(90))
                #expect(results.allSatisfy { $0.result.outcome == .accepted })
                keys.withLockedValue { $0 = results.map(\.result.idempotencyKey) }
                try await h.waitForCommittedEnd()
            }
            let stats = h.simulator.stats
            #expect(stats.tokenRequests > stats.tokensIssued, "no token fetch met the outage")
            #expect(requests.allSatisfy { stats.calls(to: $0.called) == 1 })
            let store = try await SQLiteIdempotencyStore(configuration: .init(path: h.storePath), logger: testLogger("store"))
            #expect(keys.withLockedValue { $0.count } == 40)
            for key in keys.withLockedValue({ $0 }) {
                let record = try #require(try await store.lookup(key: key))
                #expect(record.state == .done && record.outcome == .accepted, "\(key)")
                #expect(!record.inDoubt && !record.callPending, "\(key) left in doubt")
            }
            await store.close()
        }
    }

    /// Only `createVoiceNotification` is out; `tokenByAkSk` answers (they are
    /// separate services). A token probe would prove nothing: while the breaker
    /// is open, one due retry per probe interval is the trial, the partitions
    /// stay paused, and nothing else reaches the create endpoint.
    @Test func aCreateOnlyOutageIsProbedByOneDueRetryNotByTokenFetches() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.outageScope = .create
        try await WorkerHarness.with(simulator: simulator) { h in
            let requests = (0..<200).map { TestRequest("r-\($0)", called: phoneNumber($0)) }
            try await h.produce(requests: Array(requests.prefix(40)))
            try await h.withWorker(h.configuration { $0.aicc.callsPerSecond = 100 }) { worker in
                try await h.waitForResults(40)
                let before = h.simulator.calls.count
                h.simulator.outage(for: .seconds(8))
                let outageEnds = ContinuousClock.now + .seconds(8)
                // 20 requests/s into the outage.
                var pausedSamples = 0
                var samples = 0
                let outageStarted = ContinuousClock.now
                for batch in 0..<40 {
                    // 4 records every ~200 ms: 20 requests/s.
                    try await h.produce(requests: Array(requests[(40 + batch * 4)..<(44 + batch * 4)]))
                    try await Task.sleep(for: .milliseconds(150))
                    let now = ContinuousClock.now
                    if now > outageStarted + .milliseconds(1500), now < outageEnds - .milliseconds(300) {
                        samples += 1
                        if worker.dispatch.isOutage { pausedSamples += 1 }
                    }
                }
                #expect(samples >= 5)
                try await Task.sleep(until: outageEnds)
                let intoOutage = h.simulator.calls.dropFirst(before).filter { $0.httpStatus == 500 }
                let results = try await h.waitForResults(200, timeout: .seconds(90))
                #expect(results.count == 200)
                #expect(results.allSatisfy { $0.result.outcome == .accepted }, "\(Dictionary(grouping: results, by: \.result.outcome).mapValues(\.count))")
                #expect(!worker.dispatch.isOutage)
                // Paused all along (after the first second): no resume on a token that answers.
                #expect(pausedSamples == samples, "paused in \(pausedSamples) of \(samples) samples")
                // Five failures open it; then one trial per probe interval (1, 2, 4 s): a
                // handful of create calls, not one per record taken in meanwhile.
                #expect(intoOutage.count <= 16, "\(intoOutage.count) create calls went into the outage")
                let stats = h.simulator.stats
                #expect(stats.accepted == 200)
                #expect(requests.allSatisfy { stats.acceptedCalls(to: $0.called) == 1 })  // no phone rang twice
            }
        }
    }

    /// Storm protection (product §10): 60 requests to one number over six
    /// partitions ring it `burst` times; the rest are `suppressed`, counted,
    /// and a redelivery republishes the stored `suppressed` result.
    @Test func aStormToOneNumberIsSuppressedPastTheBudget() async throws {
        try await WorkerHarness.with(partitions: 6) { h in
            let number = phoneNumber(4242)
            let requests = (0..<60).map { TestRequest("storm-\($0)", called: number, text: "Disk \($0) full") }
            try await h.produce(requests: requests)
            let configuration = h.configuration {
                $0.dispatch.storm.window = 300
                $0.dispatch.storm.burst = 3
                $0.http.port = 0
            }
            try await h.withWorker(configuration) { worker in
                let results = try await h.waitForResults(60)
                let outcomes = Dictionary(grouping: results, by: \.result.outcome).mapValues(\.count)
                #expect(outcomes == [.accepted: 3, .suppressed: 57], "\(outcomes)")
                let suppressed = try #require(results.first { $0.result.outcome == .suppressed })
                #expect(suppressed.result.error?.code == "dispatch.storm")
                #expect(suppressed.result.error?.message.contains("3 calls per number in 300 s") == true)
                // The metric counts them.
                let port = try await worker.http.port()
                let text = try await runProgram(try #require(which("curl")), ["-s", "http://127.0.0.1:\(port)/metrics"]).stdout
                #expect(text.contains(#"aicc_notify_requests_total{outcome="suppressed"} 57"#), "\(text)")
                // A redelivery of a suppressed request republishes its stored result, byte for byte.
                let original = try #require(requests.first { $0.requestId == suppressed.result.requestId })
                try await h.produce(requests: [original])
                let again = try await h.waitForResults(61)
                let copies = again.filter { $0.result.requestId == original.requestId }.map(\.raw)
                #expect(copies.count == 2 && Set(copies).count == 1)
            }
            #expect(h.simulator.stats.calls(to: number) == 3)
        }
    }

    @Test func expiredRequestsAreNotCalled() async throws {
        try await WorkerHarness.with { h in
            try await h.produce(requests: [
                TestRequest("r-stale", called: phoneNumber(1), expiresAt: "2020-01-01T00:00:00Z"),
                TestRequest("r-fresh", called: phoneNumber(2), expiresAt: "2999-01-01T00:00:00Z"),
            ])
            try await h.withWorker(h.configuration()) { _ in
                let results = try await h.waitForResults(2)
                let byId = Dictionary(uniqueKeysWithValues: results.map { ($0.result.requestId, $0.result) })
                #expect(byId["r-stale"]?.outcome == .expired)
                #expect(byId["r-stale"]?.error?.code == "dispatch.deadline")
                #expect(byId["r-stale"]?.attempts == 0)
                #expect(byId["r-fresh"]?.outcome == .accepted)
            }
            #expect(h.simulator.stats.calls(to: phoneNumber(1)) == 0)
            #expect(h.simulator.stats.totalCalls == 1)
        }
    }

    @Test func sameKafkaKeyReachesAICCInOffsetOrder() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.jitter = .milliseconds(20)  // answers out of order if calls overlapped
        try await WorkerHarness.with(partitions: 2, simulator: simulator) { h in
            // Three Kafka keys, 30 requests each, each with its own idempotency key.
            var records: [(key: String?, value: [UInt8])] = []
            for index in 0..<90 {
                let request = TestRequest("r-\(index)", key: "idem-\(index)", called: phoneNumber(index % 3), text: "step \(index / 3)")
                records.append((key: "alert-\(index % 3)", value: request.bytes))
            }
            try await h.produce(records)
            try await h.withWorker(h.configuration()) { _ in
                try await h.waitForResults(90)
            }
            // The order Kafka holds them in (sends are concurrent, so offsets, not indexes, decide).
            func step(_ text: String?) -> Int? {
                guard let text, let range = text.range(of: "step ") else { return nil }
                return Int(text[range.upperBound...].prefix { $0.isNumber })
            }
            let input = try await h.records(of: h.requestsTopic).sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
            let calls = h.simulator.calls.sorted { $0.uptime < $1.uptime }
            for stream in 0..<3 {
                var inOffsetOrder: [Int] = []
                for record in input where record.key == "alert-\(stream)" {
                    if let step = step(record.payload) { inOffsetOrder.append(step) }
                }
                var reached: [Int] = []
                for call in calls where call.called == phoneNumber(stream) {
                    if let step = step(call.voiceContent) { reached.append(step) }
                }
                #expect(inOffsetOrder.count == 30)
                #expect(reached == inOffsetOrder, "stream \(stream) reached AICC as \(reached), offsets hold \(inOffsetOrder)")
            }
        }
    }
}

/// Status callbacks end to end (issue #7): the simulator posts release events
/// to the worker's per-request URLs; the worker publishes call-status events.
@Suite(.serialized)
struct CallbackScenarioTests {
    @Test func everyAcceptedRequestYieldsOneCallStatusEventWithItsAttributes() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.callback.releaseReason = .allDocumented
        simulator.callback.duplicates = 1  // every report posted twice
        try await WorkerHarness.with(simulator: simulator) { h in
            let port = try freeLoopbackPort()
            var requests: [TestRequest] = []
            for index in 0..<40 {
                var request = TestRequest("r-\(index)", called: phoneNumber(index))
                request.statusCallback = true
                request.attributes = ["alert": "A-\(index)", "team": "storage"]
                requests.append(request)
            }
            try await h.produce(requests: requests)
            let configuration = h.configuration {
                $0.http.port = port
                $0.callback.publicBaseURL = "http://127.0.0.1:\(port)/"
                $0.callback.secret = "a-callback-secret-of-32-characters"
            }
            try await h.withWorker(configuration) { worker in
                try await h.waitForResults(40)
                let deadline = ContinuousClock.now + .seconds(30)
                while try await h.records(of: h.callbacksTopic).count < 40, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                }
                // Let the duplicates arrive (every report is posted twice), then count.
                let duplicatesDeadline = ContinuousClock.now + .seconds(20)
                while h.simulator.stats.callbacksDelivered + h.simulator.stats.callbacksFailed < 80,
                      ContinuousClock.now < duplicatesDeadline {
                    try await Task.sleep(for: .milliseconds(100))
                }

                // Forged or unknown callback URLs are refused and publish nothing.
                let curl = try #require(which("curl"))
                let forged = try await runProgram(curl, [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: application/json",
                    "--data", #"{"callSerialNo":"1","called":"1"}"#,
                    "http://127.0.0.1:\(port)/aicc/callback/v1/a2V5/cmVx/AAAAAAAAAAAAAAAAAAAAAA"])
                #expect(forged.stdout == "404")
                let wrongMethod = try await runProgram(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/aicc/callback/v1/a/b/c"])
                #expect(wrongMethod.stdout == "405")
                let health = try await runProgram(curl, ["-s", "-w", "%{http_code}", "http://127.0.0.1:\(port)/healthz"])
                #expect(health.stdout.hasSuffix("200"))
                let ready = try await runProgram(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/readyz"])
                #expect(ready.stdout == "200")
                #expect(worker.dispatch.hasAssignment)
            }
            let events = try await h.records(of: h.callbacksTopic).map { try JSONDecoder().decode(CallStatusEvent.self, from: Data(($0.payload ?? "").utf8)) }
            #expect(events.count == 40)
            let results = Dictionary(uniqueKeysWithValues: try await h.results().map { ($0.result.requestId, $0.result) })
            #expect(Set(events.map(\.requestId)) == Set(requests.map(\.requestId)))
            for event in events {
                #expect(event.attributes["alert"] == "A-" + event.requestId.dropFirst(2))
                #expect(event.callSerialNo == results[event.requestId]?.callSerialNo)
            }
            // Every documented release reason was reported and normalized.
            #expect(Set(events.compactMap(\.releaseReason)) == ["0", "1", "4", "6", "8", "9", "10", "999"])
            #expect(events.filter { $0.releaseReason == "1" }.allSatisfy { $0.status == .answered && $0.playedToEnd == true })
            #expect(events.filter { $0.releaseReason == "4" }.allSatisfy { $0.status == .unanswered })
            #expect(events.filter { $0.releaseReason == "6" }.allSatisfy { $0.status == .failed })
            #expect(h.simulator.stats.callbacksDelivered == 80)
        }
    }
}

extension CallbackScenarioTests {
    /// Identifiers as producers use them (issue 15 §1): carried exactly in
    /// results, call-status events and Kafka keys; the callback URL AICC gets
    /// holds only the characters AICC allows; an id that is itself invalid
    /// still gets a `rejected` result under it (and a dead letter).
    @Test func identifiersProducersUseAreCarriedExactly() async throws {
        try await WorkerHarness.with { h in
            let port = try freeLoopbackPort()
            let ids = [
                "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66/x y",
                #"{}:{alertname="DiskFull", instance="db-01"}"#,
                "alerts/db?id=7#frag&x=1%20",
                "café 警报 🚨",
                String(repeating: "é", count: 256),
            ]
            let requests = ids.enumerated().map { index, id in
                var request = TestRequest(id, key: id.count < 200 ? "key \(id) ✓" : nil, called: phoneNumber(900 + index))
                request.statusCallback = true
                return request
            }
            try await h.produce(requests: requests)
            let tooLong = String(repeating: "x", count: 300)
            let control = "bad\u{7}id"
            try await h.produce([
                (key: "long", value: TestRequest(tooLong, called: phoneNumber(990)).bytes),
                (key: "control", value: TestRequest(control, called: phoneNumber(991)).bytes),
            ])
            let configuration = h.configuration {
                $0.http.port = port
                $0.callback.publicBaseURL = "http://127.0.0.1:\(port)/"
                $0.callback.secret = "a-callback-secret-of-32-characters"
            }
            try await h.withWorker(configuration) { _ in
                try await h.waitForResults(requests.count + 2)
                let deadline = ContinuousClock.now + .seconds(30)
                while try await h.records(of: h.callbacksTopic).count < requests.count, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            let results = try await h.results()
            let byId = Dictionary(results.map { ($0.result.requestId, $0) }, uniquingKeysWith: { first, _ in first })
            for request in requests {
                let published = try #require(byId[request.requestId], "no result for \(request.requestId)")
                #expect(published.result.outcome == .accepted, "\(request.requestId): \(published.result.outcome)")
                #expect(published.result.idempotencyKey == request.kafkaKey)
                #expect(published.key == request.kafkaKey)
            }
            // Every callback URL AICC was handed is of AICC's characters, and none was refused (retCode 9).
            let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-:./_#?&")
            let urls = h.simulator.calls.compactMap(\.callBackUrl)
            #expect(urls.count == requests.count)
            #expect(urls.allSatisfy { $0.allSatisfy(allowed.contains) }, "\(urls)")
            #expect(h.simulator.stats.accepted == requests.count)
            // Status reports came back on those URLs and were published under the exact identity.
            let events = try await h.records(of: h.callbacksTopic)
            for record in events {
                let event = try JSONDecoder().decode(CallStatusEvent.self, from: Data((record.payload ?? "").utf8))
                let request = try #require(requests.first { $0.requestId == event.requestId }, "unknown \(event.requestId)")
                #expect(event.idempotencyKey == request.kafkaKey)
                #expect(record.key == request.kafkaKey)
            }
            #expect(Set(try events.map { try JSONDecoder().decode(CallStatusEvent.self, from: Data(($0.payload ?? "").utf8)).requestId })
                    == Set(requests.map(\.requestId)))
            // Invalid identifiers: a rejected result under the very id, and a dead letter.
            #expect(byId[tooLong]?.result.outcome == .rejected)
            #expect(byId[tooLong]?.result.error?.code == "validation.requestId.length")
            #expect(byId[control]?.result.outcome == .rejected)
            #expect(byId[control]?.result.error?.code == "validation.requestId.charset")
            #expect(try await h.records(of: h.deadLetterTopic).count == 2)
        }
    }
}

extension CallbackScenarioTests {
    /// Forged, stale, replayed, unknown, oversized and wrongly signed reports
    /// get a 4xx and publish nothing; the genuine one is published once.
    @Test func refusedReportsPublishNothing() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.callback.delay = .seconds(3600)  // the simulator's own reports never come; this test posts them
        try await WorkerHarness.with(simulator: simulator) { h in
            let port = try freeLoopbackPort()
            let secret = "a-callback-secret-of-32-characters"
            let sharedKey = "tenant-shared-key-0123456789"
            var request = TestRequest("r-signed", called: phoneNumber(1))
            request.statusCallback = true
            try await h.produce(requests: [request])
            let configuration = h.configuration {
                $0.http.port = port
                $0.callback.publicBaseURL = "http://127.0.0.1:\(port)"
                $0.callback.secret = secret
                $0.callback.sharedKey = sharedKey
            }
            try await h.withWorker(configuration) { _ in
                let result = try #require(try await h.waitForResults(1).first?.result)
                let serial = try #require(result.callSerialNo)
                let signer = CallbackURLSigner(publicBaseURL: "http://127.0.0.1:\(port)", secret: secret)
                let url = signer.url(for: CallbackIdentity(idempotencyKey: "r-signed", requestId: "r-signed"))
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                func report(serial: String = serial, timestamp: Int64 = now, nonce: String = UUID().uuidString, sign: Bool = true, key: String? = nil) -> String {
                    var fields = ["callSerialNo": serial, "called": phoneNumber(1), "releaseReason": "1", "talkDuration": "12"]
                    if sign {
                        fields["timestamp"] = String(timestamp)
                        fields["nonce"] = nonce
                        fields["signature"] = CallbackSignature.sign(fields: fields, sharedKey: key ?? sharedKey, timestamp: String(timestamp), nonce: nonce)
                    }
                    return String(decoding: try! JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
                }
                let curl = try #require(which("curl"))
                func post(_ url: String, _ body: String, method: String = "POST") async throws -> String {
                    try await runProgram(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method, "-H", "Content-Type: application/json", "--data-binary", body, url]).stdout
                }
                let forgedURL = url.dropLast(4) + "AAAA"
                let replayedNonce = "nonce-used-twice"
                let cases: [(String, String, String, String)] = [
                    ("forged MAC", String(forgedURL), report(), "404"),
                    ("unsigned", url, report(sign: false), "401"),
                    ("wrong vendor signature", url, report(key: "another-shared-key-000000"), "401"),
                    ("stale timestamp", url, report(timestamp: now - 3_600_000), "401"),
                    ("unknown callSerialNo", url, report(serial: "999999999"), "404"),
                    ("oversized body", url, String(repeating: " ", count: 20_000) + report(), "413"),
                    ("not JSON", url, "callSerialNo=1", "400"),
                ]
                for (name, target, body, expected) in cases {
                    #expect(try await post(target, body) == expected, "\(name)")
                }
                #expect(try await post(url, report(), method: "PUT") == "405")
                #expect(try await h.records(of: h.callbacksTopic).isEmpty, "a refused report was published")

                // The genuine report is published; its replay (same nonce) is refused; a
                // fresh duplicate of it publishes nothing more.
                #expect(try await post(url, report(nonce: replayedNonce)) == "200")
                #expect(try await post(url, report(nonce: replayedNonce)) == "409")
                #expect(try await post(url, report()) == "200")
                let events = try await h.records(of: h.callbacksTopic)
                #expect(events.count == 1)
                let event = try JSONDecoder().decode(CallStatusEvent.self, from: Data((events.first?.payload ?? "").utf8))
                #expect(event.status == .answered && event.talkDurationSeconds == 12 && event.callSerialNo == serial)
            }
        }
    }
}

extension CallbackScenarioTests {
    /// Kafka down while a report arrives → 503; the report retried once the
    /// broker is back → 200, and the event is published once.
    /// Unsigned, and signed with the tenant's shared key: AICC's retry of a
    /// report answered 503 carries the same nonce, which must not be taken
    /// for a replay.
    @Test(arguments: [false, true])
    func aReportWhileKafkaIsDownIsRefusedThenPublishedOnce(signed: Bool) async throws {
        let sharedKey = "tenant-shared-key-for-this-test"
        var simulator = AICCSimulator.Configuration()
        simulator.callback.delay = .seconds(3600)  // this test posts the report itself
        try await WorkerHarness.with(simulator: simulator) { h in
            let port = try freeLoopbackPort()
            let secret = "a-callback-secret-of-32-characters"
            var request = TestRequest("r-kafka-down", called: phoneNumber(2))
            request.statusCallback = true
            try await h.produce(requests: [request])
            let configuration = h.configuration {
                $0.http.port = port
                $0.callback.publicBaseURL = "http://127.0.0.1:\(port)"
                $0.callback.secret = secret
                $0.kafka.deliveryTimeout = 3
                if signed { $0.callback.sharedKey = sharedKey }
            }
            let curl = try #require(which("curl"))
            try await h.withWorker(configuration) { worker in
                let serial = try #require(try await h.waitForResults(1).first?.result.callSerialNo)
                let url = CallbackURLSigner(publicBaseURL: "http://127.0.0.1:\(port)", secret: secret)
                    .url(for: CallbackIdentity(idempotencyKey: "r-kafka-down", requestId: "r-kafka-down"))
                var fields = ["callSerialNo": serial, "called": phoneNumber(2), "releaseReason": "0", "talkDuration": "3"]
                if signed {
                    let timestamp = String(Int(Date().timeIntervalSince1970 * 1000))
                    let nonce = UUID().uuidString
                    fields["timestamp"] = timestamp
                    fields["nonce"] = nonce
                    fields["signature"] = CallbackSignature.sign(fields: fields, sharedKey: sharedKey, timestamp: timestamp, nonce: nonce)
                }
                let body = String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
                func post() async throws -> String {
                    try await runProgram(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "30", "-X", "POST",
                                          "-H", "Content-Type: application/json", "--data-binary", body, url]).stdout
                }
                try h.cluster.setBrokerDown(1)
                let whileDown = try await post()
                #expect(whileDown.hasPrefix("5"), "answered \(whileDown) while Kafka was down")
                try h.cluster.setBrokerUp(1)
                var answer = ""
                let deadline = ContinuousClock.now + .seconds(30)
                repeat {
                    answer = try await post()
                    if answer != "200" { try await Task.sleep(for: .milliseconds(500)) }
                } while answer != "200" && ContinuousClock.now < deadline
                #expect(answer == "200")
                // AICC retries once more: still one event (a signed copy is a replay now: 409).
                #expect(try await post() == (signed ? "409" : "200"))
                _ = worker
            }
            let events = try await h.records(of: h.callbacksTopic)
            #expect(events.count == 1)
        }
    }
}

extension CallbackScenarioTests {
    /// `/readyz` is 503 while the worker owns no partitions (here: its input
    /// topic does not exist), with the reason; `/healthz` is 200 all the same.
    @Test func notReadyWithoutPartitions() async throws {
        try await WorkerHarness.with { h in
            let port = try freeLoopbackPort()
            let configuration = h.configuration {
                $0.http.port = port
                $0.kafka.topics.requests = "no-such-topic-" + UUID().uuidString
            }
            let curl = try #require(which("curl"))
            try await h.withWorker(configuration) { worker in
                var ready = ProgramOutput(status: 0, stdout: "", stderr: "")
                for _ in 0..<50 {
                    ready = try await runProgram(curl, ["-s", "-w", " %{http_code}", "http://127.0.0.1:\(port)/readyz"])
                    if ready.stdout.hasSuffix(" 503") { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(ready.stdout.hasSuffix(" 503"), "\(ready.stdout)")
                #expect(ready.stdout.contains("no partitions assigned"), "\(ready.stdout)")
                let health = try await runProgram(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/healthz"])
                #expect(health.stdout == "200")
                #expect(!worker.dispatch.hasAssignment)
            }
        }
    }
}

extension CallbackScenarioTests {
    /// Product §8: ready "with a partition assignment (or an idle group)": of
    /// two members over a one-partition topic, the one the group gave nothing
    /// is ready as well, to take over.
    @Test func anIdleMemberIsReady() async throws {
        try await WorkerHarness.with(partitions: 1) { h in
            let curl = try #require(which("curl"))
            let ports = [try freeLoopbackPort(), try freeLoopbackPort()]
            let configurations: [WorkerConfiguration] = (0..<2).map { index in
                h.configuration {
                    $0.http.port = ports[index]
                    $0.worker.id = "member-\(index)"
                }
            }
            try await h.withWorker(configurations[0]) { first in
                try await h.withWorker(configurations[1]) { second in
                    // The group may take several rounds to settle (a slow
                    // machine can miss a round's rejoin window, each up to
                    // session.timeout − 1 s): wait for the settled state, with
                    // a bound far above that.
                    var answers: [String] = []
                    var owners = 0
                    let deadline = ContinuousClock.now + .seconds(60)
                    while ContinuousClock.now < deadline {
                        answers = []
                        for port in ports {
                            answers.append(try await runProgram(curl, ["-s", "-w", " %{http_code}", "http://127.0.0.1:\(port)/readyz"]).stdout)
                        }
                        owners = [first.dispatch.hasAssignment, second.dispatch.hasAssignment].filter { $0 }.count
                        if answers.allSatisfy({ $0.hasSuffix(" 200") }) && owners == 1 { break }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    #expect(answers.allSatisfy { $0.hasSuffix(" 200") }, "\(answers)")
                    // Exactly one of them owns the partition; the other is idle and ready.
                    #expect(owners == 1, "\(answers)")
                }
            }
        }
    }
}

/// `/metrics` after a run agrees with what happened (issue #9).
@Suite(.serialized)
struct MetricsScenarioTests {
    @Test func metricsCountWhatHappened() async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.faults = .init(retCode1: 0.2)
        try await WorkerHarness.with(simulator: simulator) { h in
            let port = try freeLoopbackPort()
            var records: [(key: String?, value: [UInt8])] = (0..<20).map { index in
                let request = TestRequest("r-\(index)", called: phoneNumber(index))
                return (key: request.kafkaKey, value: request.bytes)
            }
            for index in 0..<3 {
                let duplicate = TestRequest("dup-\(index)", key: "r-\(index)", called: phoneNumber(index))
                records.append((key: "r-\(index)", value: duplicate.bytes))
            }
            records.append((key: "junk-1", value: Array("{not json".utf8)))
            records.append((key: "junk-2", value: [0xFF, 0xFE]))
            try await h.produce(records)
            try await h.withWorker(h.configuration { $0.http.port = port; $0.retry.maxAttempts = 30 }) { _ in
                try await h.waitForResults(23)
                try await h.waitForCommittedEnd()
                let curl = try #require(which("curl"))
                let text = try await runProgram(curl, ["-s", "http://127.0.0.1:\(port)/metrics"]).stdout
                func value(_ series: String) -> Double? {
                    text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
                }
                #expect(value(#"aicc_notify_requests_total{outcome="accepted"}"#) == 20, "\(text)")
                // Every metric has its HELP line right before its TYPE line.
                let lines = text.split(separator: "\n")
                for (index, line) in lines.enumerated() where line.hasPrefix("# TYPE ") {
                    let name = line.dropFirst("# TYPE ".count).prefix { $0 != " " }
                    #expect(index > 0 && lines[index - 1].hasPrefix("# HELP \(name) "), "no HELP for \(name)")
                }
                // The build and the standard process metrics.
                #expect(value(#"aicc_notify_build_info{version="\#(BuildInfo.version)"}"#) == 1, "\(text)")
                #expect((value("process_resident_memory_bytes") ?? 0) > 1_000_000)
                #expect((value("process_cpu_seconds_total") ?? 0) > 0)
                #expect((value("process_open_fds") ?? 0) >= 3)
                #expect((value("process_max_fds") ?? 0) >= (value("process_open_fds") ?? 0))
                let start = try #require(value("process_start_time_seconds"))
                #expect(abs(start - Date().timeIntervalSince1970) < 3600)
                #expect(value(#"aicc_notify_requests_total{outcome="duplicate"}"#) == 3)
                #expect(value(#"aicc_notify_requests_total{outcome="failed"}"#) == 0)
                let deadLettered = text.split(separator: "\n").filter { $0.hasPrefix("aicc_notify_dead_lettered_total{") }
                    .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
                #expect(deadLettered == 2)
                let stats = h.simulator.stats
                #expect(value(#"aicc_notify_aicc_calls_total{http_status="200",ret_code="0"}"#) == Double(stats.accepted))
                let transient = value(#"aicc_notify_aicc_calls_total{http_status="200",ret_code="1"}"#) ?? 0
                #expect(transient == Double(stats.totalCalls - stats.accepted))
                #expect(value("aicc_notify_retries_total") ?? 0 >= transient)
                #expect(value("aicc_notify_aicc_call_duration_seconds_count") == Double(stats.totalCalls))
                #expect(value("aicc_notify_end_to_end_seconds_count") == 23)
                #expect(text.contains("aicc_notify_in_flight"))
                #expect(text.contains("aicc_notify_paused_partitions"))
                // One token for the run (no probe, no 401): the simulator issued what the worker counted.
                #expect(value(#"aicc_notify_token_refreshes_total{result="ok"}"#) == Double(h.simulator.stats.tokensIssued))
                #expect(value(#"aicc_notify_token_refreshes_total{result="ok"}"#) ?? 0 >= 1)
                #expect(value(#"aicc_notify_token_refreshes_total{result="error"}"#) == 0)
                // Everything was committed, so no lag (the gauge is updated once a second).
                var lag = value("aicc_notify_consumer_lag")
                for _ in 0..<30 where lag != 0 {
                    try await Task.sleep(for: .milliseconds(100))
                    let again = try await runProgram(curl, ["-s", "http://127.0.0.1:\(port)/metrics"]).stdout
                    lag = again.split(separator: "\n").first { $0.hasPrefix("aicc_notify_consumer_lag ") }
                        .flatMap { Double($0.split(separator: " ").last ?? "") }
                }
                #expect(lag == 0)
            }
        }
    }
}
