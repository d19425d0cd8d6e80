import NotifyTracing
import Testing

@Suite struct TraceHeadersTests {
    static let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func w3cHeadersComeBeforeCloudEventsBinaryMode() {
        let both: [(key: String, value: [UInt8]?)] = [
            ("ce_traceparent", Array("00-11111111111111111111111111111111-2222222222222222-01".utf8)),
            ("traceparent", Array(Self.parent.utf8)), ("tracestate", Array("v=1".utf8)),
        ]
        #expect(TraceHeaders.kafka(both) == TraceHeaders(traceParent: Self.parent, traceState: "v=1"))
        let cloudEvent: [(key: String, value: [UInt8]?)] = [("ce_traceparent", Array(Self.parent.utf8)), ("ce_tracestate", Array("c=2".utf8))]
        #expect(TraceHeaders.kafka(cloudEvent) == TraceHeaders(traceParent: Self.parent, traceState: "c=2"))
        #expect(TraceHeaders.kafka([("TraceParent", Array(Self.parent.utf8))])?.traceParent == Self.parent)
    }

    @Test func absentEmptyOrNotUTF8IsNone() {
        #expect(TraceHeaders.kafka([]) == nil)
        #expect(TraceHeaders.kafka([("traceparent", nil)]) == nil)
        #expect(TraceHeaders.kafka([("traceparent", [])]) == nil)
        #expect(TraceHeaders.kafka([("traceparent", [0xFF, 0xFE])]) == nil)
        #expect(TraceHeaders.kafka([("content-type", Array("application/json".utf8))]) == nil)
    }

    @Test func producedHeaders() {
        #expect(TraceHeaders(traceParent: Self.parent).kafkaHeaders.map(\.key) == ["traceparent"])
        let both = TraceHeaders(traceParent: Self.parent, traceState: "v=1").kafkaHeaders
        #expect(both.map(\.key) == ["traceparent", "tracestate"])
        #expect(both.map { String(decoding: $0.value, as: UTF8.self) } == [Self.parent, "v=1"])
    }
}
