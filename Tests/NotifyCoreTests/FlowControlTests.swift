import NotifyCore
import Testing

@Suite struct FlowControlTests {
    let p0 = TopicPartition(topic: "requests", partition: 0)
    let p1 = TopicPartition(topic: "requests", partition: 1)
    let p2 = TopicPartition(topic: "requests", partition: 2)

    @Test func defaults() {
        let flow = FlowControl()
        #expect(flow.maxInFlight == 1024)
        #expect(flow.resumeBelow == 921)
        #expect(FlowControl(maxInFlight: 1, resumeFraction: 1).resumeBelow == 0)
    }

    @Test func hysteresis() {
        var flow = FlowControl(maxInFlight: 10, resumeFraction: 0.5)
        let r61 = flow.assign([p1, p0])
        #expect(r61.isEmpty)
        for _ in 0..<9 { let r62 = flow.entered(); #expect(r62.isEmpty) }
        let r63 = flow.entered()
        #expect(r63 == [.pause([p0, p1])])
        let r64 = flow.entered()
        #expect(r64.isEmpty)  // soft bound: already paused
        #expect(flow.inFlight == 11)
        for _ in 0..<5 { let r65 = flow.left(); #expect(r65.isEmpty) }  // 6 .. above the low mark
        let r66 = flow.left()
        #expect(r66 == [.resume([p0, p1])])  // 5
        let r67 = flow.left()
        #expect(r67.isEmpty)
        let r68 = flow.entered(5)
        #expect(r68.isEmpty)  // 9
        let r69 = flow.entered()
        #expect(r69 == [.pause([p0, p1])])  // 10
        let r70 = flow.left(10)
        #expect(r70 == [.resume([p0, p1])])
        #expect(flow.inFlight == 0)
        let r71 = flow.left()
        #expect(r71.isEmpty && flow.inFlight == 0)
    }

    @Test func holdsCombine() {
        var flow = FlowControl(maxInFlight: 2, resumeFraction: 0)
        _ = flow.assign([p0])
        let r72 = flow.hold(.outage)
        #expect(r72 == [.pause([p0])])
        let r73 = flow.hold(.outage)
        #expect(r73.isEmpty)
        _ = flow.entered()
        let r74 = flow.entered()
        #expect(r74.isEmpty)  // already paused for the outage
        #expect(flow.holds == [.outage, .inFlightBound])
        let r75 = flow.release(.outage)
        #expect(r75.isEmpty)  // still over the bound
        let r76 = flow.left(2)
        #expect(r76 == [.resume([p0])])
        #expect(!flow.isPaused)
        let r77 = flow.release(.outage)
        #expect(r77.isEmpty)
    }

    @Test func assignmentWhilePausedPausesTheNewOnes() {
        var flow = FlowControl()
        _ = flow.assign([p0])
        _ = flow.hold(.outage)
        let r78 = flow.assign([p0, p1, p2])
        #expect(r78 == [.pause([p1, p2])])
        flow.revoke([p1])
        let r79 = flow.release(.outage)
        #expect(r79 == [.resume([p0, p2])])
    }
}
