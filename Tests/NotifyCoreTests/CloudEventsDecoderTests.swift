import Foundation
import NotifyCore
import Testing

@Suite struct CloudEventsDecoderTests {
    let decoder = RequestDecoder()
    let type = RequestDecoder.defaultCloudEventType
    let body = #"{"called":"+8613800000001","voiceContent":[{"text":"disk full"}],"attributes":{"team":"sre"}}"#

    func binaryHeaders(id: String = "ce-123", type: String? = nil, contentType: String? = "application/json") -> [(key: String, value: [UInt8]?)] {
        var headers: [(key: String, value: [UInt8]?)] = [
            ("ce_specversion", Array("1.0".utf8)), ("ce_id", Array(id.utf8)),
            ("ce_source", Array("/alerting/prometheus".utf8)), ("ce_type", Array((type ?? self.type).utf8)),
        ]
        if let contentType { headers.append(("content-type", Array(contentType.utf8))) }
        return headers
    }

    @Test func binaryModeWithCeIdStandingInForRequestId() throws {
        let result = decoder.decode(InboundRecord(value: Array(body.utf8), headers: binaryHeaders()))
        let request = try #require(result.request)
        #expect(result.kind == .valid)
        #expect(request.requestId == "ce-123" && request.idempotencyKey == "ce-123")
        #expect(request.voiceContent == "$disk full$")
        #expect(result.cloudEvent == CloudEventInfo(mode: .binary, id: "ce-123", source: "/alerting/prometheus", type: type, specVersion: "1.0"))
    }

    @Test func aCloudEventIdAsProducersWriteItIsTheRequestId() throws {
        let id = "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66/x y"
        let result = decoder.decode(InboundRecord(
            value: Array(#"{"called":"+8613800000001","voiceContent":"1"}"#.utf8), headers: binaryHeaders(id: id)))
        #expect(result.kind == .valid, "\(result.errors)")
        #expect(result.request?.requestId == id)
        #expect(result.request?.idempotencyKey == id)
        // Too long to be an identifier: still read, so the producer hears of the rejection.
        let long = String(repeating: "c", count: 300)
        let rejected = decoder.decode(InboundRecord(
            value: Array(#"{"called":"+8613800000001","voiceContent":"1"}"#.utf8), headers: binaryHeaders(id: long)))
        #expect(rejected.kind == .invalid && rejected.requestId == long)
        #expect(rejected.shouldPublishRejected && rejected.shouldDeadLetter)
    }

    @Test func binaryModeKeepsAnExplicitRequestId() throws {
        let value = #"{"requestId":"req-9","called":"123","voiceContent":"1"}"#
        let result = decoder.decode(InboundRecord(value: Array(value.utf8), headers: binaryHeaders(contentType: nil)))
        #expect(result.request?.requestId == "req-9")
    }

    /// Product §3: producers name their own types; by default any type
    /// whose data is a request is one.
    @Test func anyTypeIsAcceptedByDefault() {
        for type in ["com.example.notification.request", "com.example.order.created", "page"] {
            let result = decoder.decode(InboundRecord(value: Array(body.utf8), headers: binaryHeaders(type: type)))
            #expect(result.kind == .valid, "\(type)")
            #expect(result.cloudEvent?.type == type)
            let event = structured(#"{"specversion":"1.0","id":"e-any","source":"s","type":"\#(type)","data":\#(body)}"#)
            #expect(event.kind == .valid, "\(type), structured")
        }
    }

    /// `kafka.cloudEvents.types` restricts them: a refused event is
    /// dead-lettered and, its id being readable, gets a rejected result
    /// under that id (§3, §4), in either mode.
    @Test func restrictedTypesRefuseOthersWithARejectedResultUnderTheID() {
        let custom = RequestDecoder(configuration: .init(acceptedCloudEventTypes: ["com.example.page.v2"]))
        #expect(custom.decode(InboundRecord(value: Array(body.utf8), headers: binaryHeaders(type: "com.example.page.v2"))).kind == .valid)
        let refused = custom.decode(InboundRecord(
            value: Array(body.utf8), headers: binaryHeaders(id: "run/ce id ✓", type: "com.example.order.created")))
        #expect(refused.kind == .undecodable)
        #expect(refused.errors.map(\.code) == ["cloudevents.type"])
        #expect(refused.requestId == "run/ce id ✓" && refused.idempotencyKey == "run/ce id ✓")
        #expect(refused.shouldDeadLetter && refused.shouldPublishRejected)
        let structuredRefused = custom.decode(InboundRecord(
            value: Array(#"{"specversion":"1.0","id":"e-9","source":"s","type":"other","data":\#(body)}"#.utf8),
            headers: [(key: "content-type", value: Array("application/cloudevents+json".utf8))]))
        #expect(structuredRefused.errors.map(\.code) == ["cloudevents.type"])
        #expect(structuredRefused.errors.first?.path == "/type")
        #expect(structuredRefused.requestId == "e-9" && structuredRefused.shouldDeadLetter && structuredRefused.shouldPublishRejected)
    }

    @Test func binaryModeMissingHeadersAndWrongSpecVersion() {
        let headers: [(key: String, value: [UInt8]?)] = [("ce_specversion", Array("0.3".utf8)), ("ce_id", nil), ("ce_type", Array(type.utf8))]
        let result = decoder.decode(InboundRecord(value: Array(body.utf8), headers: headers))
        #expect(result.kind == .undecodable)
        #expect(result.errors.map(\.code) == ["cloudevents.id", "cloudevents.source", "cloudevents.specversion"])
    }

    @Test func binaryModeWithNonJSONContentType() {
        let result = decoder.decode(InboundRecord(value: Array(body.utf8), headers: binaryHeaders(contentType: "text/plain")))
        #expect(result.errors.map(\.code) == ["cloudevents.datacontenttype"])
    }

    @Test func binaryModeWithBrokenDataKeepsCeIdReadable() {
        let result = decoder.decode(InboundRecord(value: Array("not json".utf8), headers: binaryHeaders()))
        #expect(result.kind == .undecodable)
        #expect(result.errors.map(\.code) == ["decode.json"])
        #expect(result.requestId == "ce-123")
        #expect(result.shouldDeadLetter && result.shouldPublishRejected)
    }

    @Test func binaryModeWithInvalidDataIsRejected() {
        let value = #"{"called":"abc","voiceContent":"1"}"#
        let result = decoder.decode(InboundRecord(value: Array(value.utf8), headers: binaryHeaders()))
        #expect(result.kind == .invalid)
        #expect(result.requestId == "ce-123")
        #expect(result.errors.map(\.code) == ["validation.called.format"])
        #expect(!result.shouldDeadLetter && result.shouldPublishRejected)
    }

    func structured(_ envelope: String, contentType: String = "application/cloudevents+json; charset=utf-8") -> DecodeResult {
        decoder.decode(InboundRecord(value: Array(envelope.utf8), headers: [("content-type", Array(contentType.utf8))]))
    }

    @Test func structuredModeWithData() throws {
        let result = structured(#"{"specversion":"1.0","id":"e-1","source":"urn:alerts","type":"\#(type)","datacontenttype":"application/json","data":\#(body)}"#)
        let request = try #require(result.request)
        #expect(request.requestId == "e-1")
        #expect(request.attributes == ["team": "sre"])
        #expect(result.cloudEvent?.mode == .structured)
    }

    /// CloudEvents' distributed-tracing extension in structured mode: the
    /// `traceparent`/`tracestate` attributes reach the worker (product §11),
    /// unchecked; a non-string value is ignored, never a reason to reject.
    @Test func structuredModeTraceContextAttributes() throws {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let traced = structured(#"{"specversion":"1.0","id":"e-t","source":"urn:alerts","type":"\#(type)","traceparent":"\#(parent)","tracestate":"v=1","data":\#(body)}"#)
        #expect(traced.kind == .valid)
        #expect(traced.cloudEvent?.traceParent == parent)
        #expect(traced.cloudEvent?.traceState == "v=1")
        let odd = structured(#"{"specversion":"1.0","id":"e-u","source":"urn:alerts","type":"\#(type)","traceparent":42,"data":\#(body)}"#)
        #expect(odd.kind == .valid)
        #expect(odd.cloudEvent?.traceParent == nil)
        let untraced = structured(#"{"specversion":"1.0","id":"e-v","source":"urn:alerts","type":"\#(type)","data":\#(body)}"#)
        #expect(untraced.cloudEvent?.traceParent == nil)
    }

    @Test func structuredModeWithDataBase64() throws {
        let encoded = Data(#"{"requestId":"r-64","called":"123","voiceContent":"1"}"#.utf8).base64EncodedString()
        let result = structured(#"{"specversion":"1.0","id":"e-2","source":"urn:alerts","type":"\#(type)","data_base64":"\#(encoded)"}"#,
                                contentType: "Application/CloudEvents+JSON")
        #expect(result.kind == .valid)
        #expect(result.request?.requestId == "r-64")
    }

    @Test func structuredModeErrors() {
        #expect(structured(#"{"specversion":"1.0","id":"e","source":"s","type":"\#(type)"}"#).errors.map(\.code) == ["cloudevents.data"])
        #expect(structured(#"{"specversion":"1.0","id":"e","source":"s","type":"\#(type)","data":{},"data_base64":"e30="}"#).errors.map(\.code)
            == ["cloudevents.data"])
        #expect(structured(#"{"specversion":"1.0","id":"e","source":"s","type":"\#(type)","data_base64":"%%%"}"#).errors.map(\.code)
            == ["cloudevents.data"])
        #expect(structured(#"{"specversion":"1.0","id":"e","source":"s","type":"\#(type)","datacontenttype":"text/xml","data":{}}"#)
            .errors.map(\.code) == ["cloudevents.datacontenttype"])
        #expect(structured(#"{"id":"e","source":"s","type":"\#(type)","data":{}}"#).errors.map(\.code) == ["cloudevents.specversion"])
        #expect(structured(#"[1]"#).errors.map(\.code) == ["decode.not_object"])
        let notObject = structured(#"{"specversion":"1.0","id":"e-3","source":"s","type":"\#(type)","data":"hello"}"#)
        #expect(notObject.errors.map(\.code) == ["decode.not_object"])
        #expect(notObject.requestId == "e-3")
        let batch = decoder.decode(InboundRecord(value: Array("[]".utf8), headers: [("content-type", Array("application/cloudevents-batch+json".utf8))]))
        #expect(batch.errors.map(\.code) == ["cloudevents.content_type"])
    }

    @Test func structuredInvalidDataPathsPointIntoTheData() {
        let result = structured(#"{"specversion":"1.0","id":"e-4","source":"s","type":"\#(type)","data":{"called":"1","voiceContent":"1"}}"#)
        #expect(result.kind == .invalid)
        #expect(result.errors.map(\.path) == ["/called"])
        #expect(result.requestId == "e-4")
    }

    @Test func plainRecordsIgnoreUnrelatedContentType() {
        let value = #"{"requestId":"r","called":"123","voiceContent":"1"}"#
        #expect(decoder.decode(InboundRecord(value: Array(value.utf8), headers: [("content-type", Array("application/json".utf8))])).kind == .valid)
        #expect(decoder.decode(InboundRecord(value: Array(value.utf8))).kind == .valid)
    }
}
