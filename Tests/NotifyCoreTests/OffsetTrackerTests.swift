import NotifyCore
import Testing

@Suite struct OffsetTrackerTests {
    let p0 = TopicPartition(topic: "requests", partition: 0)
    let p1 = TopicPartition(topic: "requests", partition: 1)

    @Test func positionIsLowestUnfinishedThenLastPlusOne() {
        var tracker = OffsetTracker()
        #expect(tracker.commitPosition(p0) == nil)
        for offset in Int64(10)...14 { let r1 = tracker.track(p0, offset: offset); #expect(r1) }
        #expect(tracker.commitPosition(p0) == 10)
        let r2 = tracker.finish(p0, offset: 12)
        #expect(r2)
        let r3 = tracker.finish(p0, offset: 11)
        #expect(r3)
        #expect(tracker.commitPosition(p0) == 10)
        let r4 = tracker.finish(p0, offset: 10)
        #expect(r4)
        #expect(tracker.commitPosition(p0) == 13)
        let r5 = tracker.finish(p0, offset: 14)
        #expect(r5)
        #expect(tracker.commitPosition(p0) == 13)
        let r6 = tracker.finish(p0, offset: 13)
        #expect(r6)
        #expect(tracker.commitPosition(p0) == 15)
        #expect(tracker.unfinishedCount(p0) == 0)
    }

    @Test func gapsAreNeverWaitedFor() {
        var tracker = OffsetTracker()
        for offset: Int64 in [3, 7, 8, 20] { tracker.track(p0, offset: offset) }
        tracker.finish(p0, offset: 3)
        #expect(tracker.commitPosition(p0) == 7)
        tracker.finish(p0, offset: 8)
        tracker.finish(p0, offset: 7)
        #expect(tracker.commitPosition(p0) == 20)
        tracker.finish(p0, offset: 20)
        #expect(tracker.commitPosition(p0) == 21)
    }

    @Test func unknownAndRepeatedOperationsChangeNothing() {
        var tracker = OffsetTracker()
        let r7 = tracker.finish(p0, offset: 1)
        #expect(!r7)
        let r8 = tracker.track(p0, offset: 1)
        #expect(r8)
        let r9 = tracker.track(p0, offset: 1)
        #expect(!r9)
        let r10 = tracker.finish(p0, offset: 2)
        #expect(!r10)
        let r11 = tracker.finish(p0, offset: 1)
        #expect(r11)
        let r12 = tracker.finish(p0, offset: 1)
        #expect(!r12)
        #expect(tracker.commitPosition(p0) == 2)
    }

    @Test func pendingCommitsOnlyListAdvancedPositions() {
        var tracker = OffsetTracker()
        tracker.track(p0, offset: 0)
        tracker.track(p1, offset: 5)
        #expect(tracker.pendingCommits() == [
            CommitPosition(partition: p0, offset: 0), CommitPosition(partition: p1, offset: 5),
        ])
        tracker.markCommitted(tracker.pendingCommits())
        #expect(tracker.pendingCommits().isEmpty)
        tracker.finish(p1, offset: 5)
        #expect(tracker.pendingCommits() == [CommitPosition(partition: p1, offset: 6)])
        tracker.markCommitted([CommitPosition(partition: p1, offset: 6)])
        tracker.markCommitted([CommitPosition(partition: p1, offset: 4)])  // never moves back
        #expect(tracker.pendingCommits().isEmpty)
        tracker.track(p1, offset: 6)
        #expect(tracker.pendingCommits().isEmpty)
        tracker.finish(p0, offset: 0)
        #expect(tracker.pendingCommits() == [CommitPosition(partition: p0, offset: 1)])
    }

    @Test func revokeDropsThePartition() {
        var tracker = OffsetTracker()
        tracker.track(p0, offset: 1)
        tracker.track(p1, offset: 1)
        tracker.revoke([p0])
        #expect(tracker.commitPosition(p0) == nil)
        let r13 = tracker.finish(p0, offset: 1)
        #expect(!r13)
        #expect(tracker.partitions == [p1])
        #expect(tracker.pendingCommits() == [CommitPosition(partition: p1, offset: 1)])
        #expect(tracker.unfinishedCount == 1)
    }

    /// Random arrivals with gaps, random finish orders, commits at random moments:
    /// the committed position never passes an unfinished offset, never moves
    /// back, always equals a reference model, and ends at last + 1.
    @Test(arguments: [1, 2, 3, 42, 1234, 99_999] as [UInt64])
    func watermarkPropertyUnderRandomFinishOrder(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var tracker = OffsetTracker()
        let partitions = [p0, p1]
        var next: [TopicPartition: Int64] = [p0: Int64.random(in: 0..<1000, using: &rng), p1: 0]
        var unfinished: [TopicPartition: Set<Int64>] = [:]
        var finished: [TopicPartition: Int64] = [:]
        var committed: [TopicPartition: Int64] = [:]
        var toArrive = 3000
        while toArrive > 0 || unfinished.values.contains(where: { !$0.isEmpty }) {
            let roll = Int.random(in: 0..<10, using: &rng)
            let partition = partitions.randomElement(using: &rng)!
            if toArrive > 0, roll < 5 {
                let offset = next[partition]! + Int64.random(in: 0...3, using: &rng) // gaps
                next[partition] = offset + 1
                let r14 = tracker.track(partition, offset: offset)
                #expect(r14)
                unfinished[partition, default: []].insert(offset)
                toArrive -= 1
            } else if roll < 9, let offset = unfinished[partition]?.randomElement(using: &rng) {
                let r15 = tracker.finish(partition, offset: offset)
                #expect(r15)
                unfinished[partition]!.remove(offset)
                finished[partition] = max(finished[partition] ?? offset, offset)
            } else {
                for position in tracker.pendingCommits() {
                    let open = unfinished[position.partition] ?? []
                    #expect(open.allSatisfy { $0 >= position.offset }, "commit passes an unfinished offset")
                    if let previous = committed[position.partition] { #expect(position.offset > previous) }
                    committed[position.partition] = position.offset
                }
                tracker.markCommitted(tracker.pendingCommits())
            }
            // Reference model.
            let open = unfinished[partition] ?? []
            let expected = open.min() ?? finished[partition].map { $0 + 1 }
            if !open.isEmpty || finished[partition] != nil {
                #expect(tracker.commitPosition(partition) == expected)
            }
        }
        for partition in partitions {
            #expect(tracker.commitPosition(partition) == next[partition]!)  // last arrived + 1
            #expect(finished[partition]! + 1 == next[partition]!)
            #expect(tracker.unfinishedCount(partition) == 0)
        }
        tracker.markCommitted(tracker.pendingCommits())
        #expect(tracker.pendingCommits().isEmpty)
    }

    @Test func hundredThousandInFlight() {
        var tracker = OffsetTracker()
        var rng = SplitMix64(seed: 7)
        let offsets = (Int64(0)..<100_000).map { $0 * 2 }
        for offset in offsets { tracker.track(p0, offset: offset) }
        for offset in offsets.shuffled(using: &rng) { tracker.finish(p0, offset: offset) }
        #expect(tracker.commitPosition(p0) == 199_999)
        #expect(tracker.unfinishedCount == 0)
    }
}
