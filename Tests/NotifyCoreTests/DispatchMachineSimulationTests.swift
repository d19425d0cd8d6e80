import Foundation
import NotifyCore
import Testing

/// Drives the machine with random records and random answers in random order
/// (seeded), acting as worker, store, AICC and Kafka at once, and checks §4's
/// invariants after every event. Batched runs deliver records, claim answers
/// and publications several at a time through the batch events (issue 25),
/// and check that the claims and commits of each batch come coalesced.
@Suite struct DispatchMachineSimulationTests {
    typealias D = Dispatch

    enum Pending: Hashable {
        case claim(RecordID)
        case call(RecordID)
        case record(RecordID)
        case publish(RecordID)
        case retry(RecordID, Date)
        case probeTimer(Date)
        case probe
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64], [false, true])
    func invariantsHoldUnderRandomInterleavings(seed: UInt64, batched: Bool) throws {
        var rng = SplitMix64(seed: seed)
        let maxConcurrency = 4
        var m = DispatchMachine(configuration: .init(
            retry: RetryPolicy(initialBackoff: 0.5, maxBackoff: 4, maxAttempts: 3), maxConcurrency: maxConcurrency,
            flowControl: FlowControl(maxInFlight: 20), inDoubtPolicy: seed % 2 == 0 ? .report : .retry,
            breaker: OutageBreaker(threshold: 4)))
        var now = D.t0
        let partitions = [D.p0, D.p1]
        _ = m.partitionsAssigned(partitions)

        // The records to deliver, per partition, in offset order (with gaps).
        var toDeliver: [TopicPartition: [DispatchRecord]] = [:]
        var requests: [RecordID: NotificationRequest] = [:]
        var keyOf: [RecordID: [UInt8]?] = [:]
        for partition in partitions {
            var offset: Int64 = 0
            for n in 0..<120 {
                offset += Int64.random(in: 1...2, using: &rng)
                let id = RecordID(partition: partition, offset: offset)
                let key = ["a", "b", "c", nil].randomElement(using: &rng)!
                if Int.random(in: 0..<20, using: &rng) == 0 {
                    toDeliver[partition, default: []].append(DispatchRecord(
                        id: id, key: nil,
                        decoded: DecodeResult(kind: .undecodable, errors: [.init(.decodeJSON, path: "", message: "x")])))
                    continue
                }
                let expires: String? = Int.random(in: 0..<4, using: &rng) == 0
                    ? RFC3339.format(D.t0 + Double.random(in: 0...60, using: &rng)) : nil
                let request = try D.request("\(partition.partition)-\(n)", expiresAt: expires)
                requests[id] = request
                keyOf[id] = key.map { Array($0.utf8) }
                toDeliver[partition, default: []].append(D.record(partition, offset, key: key, request: request))
            }
        }
        let lastOffset = toDeliver.mapValues { $0.last!.id.offset }

        var pending: [Pending] = []
        var publishedOnce: Set<RecordID> = []
        var finished: Set<RecordID> = []
        var received: [RecordID] = []
        var claimedOrder: [String: [RecordID]] = [:]
        var committed: [TopicPartition: Int64] = [:]
        var attemptsSeen: [RecordID: Int] = [:]

        func laneName(_ id: RecordID) -> String? {
            guard let key = keyOf[id] ?? nil else { return nil }
            return "\(id.partition)/\(key)"
        }

        func claimed(_ id: RecordID) {
            pending.append(.claim(id))
            if let lane = laneName(id) {
                // The previous record of the key is finished (published) before this one is claimed.
                if let previous = claimedOrder[lane]?.last, previous != id {
                    #expect(previous < id, "claims out of key order")
                    #expect(finished.contains(previous), "claimed before the previous of its key finished")
                }
                if claimedOrder[lane]?.last != id { claimedOrder[lane, default: []].append(id) }
            }
        }

        func absorb(_ actions: [DispatchMachine.Action], coalesced: Bool = false) {
            if coalesced {
                let claimActions = actions.filter { if case .claim = $0 { true } else if case .claims = $0 { true } else { false } }
                let commitActions = actions.filter { if case .commit = $0 { true } else { false } }
                #expect(claimActions.count <= 1, "a batch's claims come as one action")
                #expect(commitActions.count <= 1, "a batch's commits come as one action")
            }
            for action in actions {
                switch action {
                case .claim(let id, _):
                    claimed(id)
                case .claims(let orders):
                    #expect(orders.count > 1 || !coalesced)
                    for order in orders { claimed(order.id) }
                case .callAICC(let id, let request, let attempt):
                    pending.append(.call(id))
                    #expect(attempt == (attemptsSeen[id] ?? 0) + 1 || attempt == (attemptsSeen[id] ?? 0))
                    #expect(attempt <= 3)
                    attemptsSeen[id] = attempt
                    if let expiresAt = request.expiresAt { #expect(now <= expiresAt, "called after expiresAt") }
                case .recordOutcome(let id, let result, _):
                    pending.append(.record(id))
                    #expect(result.requestId == requests[id]?.requestId)
                case .publishResult(let id, _), .publishDeadLetter(let id, _):
                    pending.append(.publish(id))
                    if case .publishResult = action {
                        #expect(publishedOnce.insert(id).inserted, "two results for one record")
                    }
                case .scheduleRetry(let id, let at):
                    pending.append(.retry(id, at))
                    if let expiresAt = requests[id]?.expiresAt, attemptsSeen[id] != nil {
                        #expect(at <= expiresAt, "retry scheduled past expiresAt")
                    }
                case .scheduleProbe(let at):
                    pending.append(.probeTimer(at))
                case .sendProbe:
                    pending.append(.probe)
                case .commit(let positions):
                    for position in positions {
                        if let previous = committed[position.partition] { #expect(position.offset > previous) }
                        committed[position.partition] = position.offset
                        let unfinished = received.filter { $0.partition == position.partition && !finished.contains($0) }
                        #expect(unfinished.allSatisfy { $0.offset >= position.offset }, "commit passed unfinished")
                    }
                case .releaseClaim, .pause, .resume:
                    break
                }
            }
            #expect(m.callSlotsInUse <= maxConcurrency)
        }

        var steps = 0
        while !pending.isEmpty || toDeliver.values.contains(where: { !$0.isEmpty }) {
            steps += 1
            #expect(steps < 100_000)
            if steps >= 100_000 { break }
            now += Double.random(in: 0...0.3, using: &rng)
            let deliverable = partitions.filter { !(toDeliver[$0]?.isEmpty ?? true) }
            if !deliverable.isEmpty, pending.isEmpty || Int.random(in: 0..<3, using: &rng) == 0 {
                let partition = deliverable.randomElement(using: &rng)!
                if batched {
                    // A poll: a run of one partition's records, maybe the other's after it.
                    var batch: [DispatchRecord] = []
                    for partition in [partition] + deliverable.filter({ $0 != partition && Bool.random(using: &rng) }) {
                        let count = min(toDeliver[partition]!.count, Int.random(in: 1...8, using: &rng))
                        batch += toDeliver[partition]!.prefix(count)
                        toDeliver[partition]!.removeFirst(count)
                    }
                    received += batch.map(\.id)
                    absorb(m.recordsReceived(batch, now: now), coalesced: true)
                    continue
                }
                let record = toDeliver[partition]!.removeFirst()
                received.append(record.id)
                absorb(m.recordReceived(record, now: now))
                continue
            }
            func claimAnswer() -> ClaimAnswer {
                switch Int.random(in: 0..<12, using: &rng) {
                case 0: .duplicate(originalRequestId: "orig", outcome: .accepted, callSerialNo: "s")
                case 1: .conflict
                case 2: .completed(storedResult: [1, 2])
                case 3: .inFlightElsewhere(retryAt: now + 1)
                case 4: .inDoubt
                default: .claimed
                }
            }
            let index = Int.random(in: 0..<pending.count, using: &rng)
            let item = pending.remove(at: index)
            if batched, case .claim(let first) = item {
                // A batch claim answers the claims pending together (some of them).
                var ids = [first]
                pending.removeAll { item in
                    guard case .claim(let id) = item, Bool.random(using: &rng) else { return false }
                    ids.append(id)
                    return true
                }
                absorb(m.claimsAnswered(ids.shuffled(using: &rng).map { ($0, claimAnswer()) }, now: now), coalesced: true)
                continue
            }
            if batched, case .publish(let first) = item {
                var ids = [first]
                pending.removeAll { item in
                    guard case .publish(let id) = item, Bool.random(using: &rng) else { return false }
                    ids.append(id)
                    return true
                }
                let actions = m.published(ids, now: now)
                for id in ids where !pending.contains(.publish(id)) { finished.insert(id) }
                absorb(actions, coalesced: true)
                continue
            }
            switch item {
            case .claim(let id):
                absorb(m.claimAnswered(id, claimAnswer(), now: now))
            case .call(let id):
                let answer: CallAnswer = switch Int.random(in: 0..<10, using: &rng) {
                case 0, 1, 2: D.transient
                case 3: D.timeout
                case 4: .permanent(error: .init(code: "aicc.retcode.8", message: "bad"), aicc: .init(httpStatus: 200, retCode: "8"))
                case 5 where Int.random(in: 0..<5, using: &rng) == 0: .credentialsRefused
                default: D.accepted("serial-\(id)")
                }
                absorb(m.aiccAnswered(id, answer, now: now, randomUnit: Double.random(in: 0..<1, using: &rng)))
            case .record(let id):
                absorb(m.outcomeRecorded(id, now: now))
            case .publish(let id):
                // Finished once every publication of the record is acknowledged.
                let actions = m.published(id, now: now)
                if !pending.contains(.publish(id)) { finished.insert(id) }
                absorb(actions)
            case .retry(let id, let at):
                now = max(now, at)
                absorb(m.retryTimerFired(id, now: now))
            case .probeTimer(let at):
                now = max(now, at)
                absorb(m.probeTimerFired(now: now))
            case .probe:
                absorb(m.probeAnswered(success: Bool.random(using: &rng), now: now))
            }
        }

        #expect(m.inFlight == 0)
        #expect(m.callSlotsInUse == 0)
        #expect(!m.isOutage)
        for partition in partitions {
            #expect(committed[partition] == lastOffset[partition]! + 1)
        }
        #expect(publishedOnce == Set(requests.keys), "every valid request gets exactly one result")
    }
}
