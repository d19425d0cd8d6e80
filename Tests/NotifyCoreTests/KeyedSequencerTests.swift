import NotifyCore
import Testing

@Suite struct KeyedSequencerTests {
    let p0 = TopicPartition(topic: "requests", partition: 0)
    let p1 = TopicPartition(topic: "requests", partition: 1)
    let a: [UInt8] = Array("alert-a".utf8)
    let b: [UInt8] = Array("alert-b".utf8)

    @Test func sameKeyWaitsDifferentKeysDoNot() {
        var sequencer = KeyedSequencer<Int>()
        let r16 = sequencer.enqueue(1, key: a, partition: p0)
        #expect(r16 == .ready)
        let r17 = sequencer.enqueue(2, key: b, partition: p0)
        #expect(r17 == .ready)
        let r18 = sequencer.enqueue(3, key: a, partition: p0)
        #expect(r18 == .queued(position: 1))
        let r19 = sequencer.enqueue(4, key: a, partition: p0)
        #expect(r19 == .queued(position: 2))
        let r20 = sequencer.enqueue(5, key: nil, partition: p0)
        #expect(r20 == .ready)
        let r21 = sequencer.enqueue(6, key: nil, partition: p0)
        #expect(r21 == .ready)
        let r22 = sequencer.enqueue(7, key: a, partition: p1)
        #expect(r22 == .ready)  // another partition: another lane
        #expect(sequencer.waitingCount == 2)
        let r23 = sequencer.complete(2)
        #expect(r23 == nil)
        let r24 = sequencer.complete(3)
        #expect(r24 == nil)  // waiting: cannot complete
        #expect(sequencer.isActive(1) && !sequencer.isActive(3))
        let r25 = sequencer.complete(1)
        #expect(r25 == 3)
        let r26 = sequencer.complete(3)
        #expect(r26 == 4)
        let r27 = sequencer.complete(4)
        #expect(r27 == nil)
        let r28 = sequencer.enqueue(8, key: a, partition: p0)
        #expect(r28 == .ready)
        let r29 = sequencer.complete(5)
        #expect(r29 == nil)
        let r30 = sequencer.complete(5)
        #expect(r30 == nil)
        #expect(sequencer.count == 3)  // 6, 7, 8
    }

    @Test func revokeForgetsActiveAndWaitingOfThosePartitionsOnly() {
        var sequencer = KeyedSequencer<Int>()
        _ = sequencer.enqueue(1, key: a, partition: p0)
        _ = sequencer.enqueue(2, key: a, partition: p0)
        _ = sequencer.enqueue(3, key: nil, partition: p0)
        _ = sequencer.enqueue(4, key: a, partition: p1)
        _ = sequencer.enqueue(5, key: a, partition: p1)
        let r31 = sequencer.revoke([p0])
        #expect(Set(r31) == [1, 2, 3])
        let r32 = sequencer.complete(1)
        #expect(r32 == nil)
        #expect(sequencer.count == 2)
        let r33 = sequencer.enqueue(1, key: a, partition: p0)
        #expect(r33 == .ready)  // a fresh lane
        let r34 = sequencer.complete(4)
        #expect(r34 == 5)
    }

    /// Random keys, random completion order among dispatchable records: per
    /// (partition, key) the dispatch order is the offset order, one at a time,
    /// and every record is dispatched once.
    @Test(arguments: [5, 17, 2024] as [UInt64])
    func orderingUnderRandomCompletions(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var sequencer = KeyedSequencer<Int>()
        let keys: [[UInt8]?] = [nil, [1], [2], [3], [1, 2]]
        var keyOf: [Int: [UInt8]?] = [:]
        var partitionOf: [Int: TopicPartition] = [:]
        var active: Set<Int> = []
        var dispatched: [Int] = []
        var nextId = 0
        while nextId < 2000 || !active.isEmpty {
            if nextId < 2000, Bool.random(using: &rng) {
                let id = nextId
                nextId += 1
                let key = keys.randomElement(using: &rng)!
                let partition = Bool.random(using: &rng) ? p0 : p1
                keyOf[id] = key
                partitionOf[id] = partition
                if sequencer.enqueue(id, key: key, partition: partition) == .ready {
                    active.insert(id)
                    dispatched.append(id)
                }
            } else if let id = active.randomElement(using: &rng) {
                active.remove(id)
                if let next = sequencer.complete(id) {
                    #expect(!active.contains(next))
                    active.insert(next)
                    dispatched.append(next)
                }
            }
            // At most one active per keyed lane.
            var lanes: Set<String> = []
            for id in active {
                guard let key = keyOf[id]!, let partition = partitionOf[id] else { continue }
                #expect(lanes.insert("\(partition)/\(key)").inserted, "two records of one key in progress")
            }
        }
        #expect(dispatched.count == 2000)
        #expect(Set(dispatched).count == 2000)
        var lastPerLane: [String: Int] = [:]
        for id in dispatched {
            guard let key = keyOf[id]! else { continue }
            let lane = "\(partitionOf[id]!)/\(key)"
            if let last = lastPerLane[lane] { #expect(id > last, "out of order in \(lane)") }
            lastPerLane[lane] = id
        }
        #expect(sequencer.count == 0)
    }

    @Test func hundredThousandBehindOneKey() {
        var sequencer = KeyedSequencer<Int>()
        for id in 0..<100_000 { _ = sequencer.enqueue(id, key: a, partition: p0) }
        #expect(sequencer.waitingCount == 99_999)
        var next: Int? = 0
        var order: [Int] = []
        while let id = next {
            order.append(id)
            next = sequencer.complete(id)
        }
        #expect(order == Array(0..<100_000))
        #expect(sequencer.count == 0)
    }
}
