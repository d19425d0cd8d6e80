import Foundation
import NotifyCore
import Testing

@Suite struct ValidationTests {
    let decoder = RequestDecoder()

    func decode(_ json: String) -> DecodeResult {
        decoder.decodeDocument(Array(json.utf8))
    }

    @Test func appliesDefaultsAndKeepsRawVoiceContent() throws {
        let result = decode(#"{"requestId":"r-1","called":"+8613800000001","voiceContent":"1133~$Tom$~2225"}"#)
        let request = try #require(result.request)
        #expect(result.kind == .valid && result.errors.isEmpty)
        #expect(request.idempotencyKey == "r-1")
        #expect(request.priority == 9)
        #expect(request.statusCallback == true)
        #expect(request.callerPresent == nil && request.expiresAt == nil && request.attributes.isEmpty)
        #expect(request.voiceContent == "1133~$Tom$~2225")
    }

    @Test func encodesSegmentsIntoTheAICCString() throws {
        let result = decode(#"""
            {"requestId":"r-2","idempotencyKey":"k-2","called":"13800000001","callerPresent":"4008001234",
             "voiceContent":[{"voiceId":"1133"},{"text":"数据库 down"},{"voiceId":"2225"}],
             "priority":2,"statusCallback":false,"expiresAt":"2030-01-01T08:00:00+08:00","attributes":{"team":"dba"}}
            """#)
        let request = try #require(result.request)
        #expect(request.voiceContent == "1133~$数据库 down$~2225")
        #expect(request.idempotencyKey == "k-2")
        #expect(request.priority == 2)
        #expect(request.statusCallback == false)
        #expect(request.expiresAt == Date(timeIntervalSince1970: 1_893_456_000))
        #expect(request.attributes == ["team": "dba"])
    }

    @Test func reportsEveryErrorWithItsPath() {
        let result = decode(#"""
            {"requestId":"bad\u0001id","called":"12","callerPresent":"+1",
             "voiceContent":[{"voiceId":"1"},"x",{"text":"a$b"},{"voiceId":"1","text":"t"}],
             "priority":10,"statusCallback":"yes","expiresAt":"tomorrow",
             "attributes":{"a/b":"v","n":1}}
            """#)
        #expect(result.kind == .invalid)
        let found = result.errors.map { "\($0.path) \($0.code)" }
        #expect(found == [
            "/requestId validation.requestId.charset",
            "/called validation.called.format",
            "/callerPresent validation.callerPresent.format",
            "/voiceContent/1 validation.voiceContent.segment",
            "/voiceContent/2/text validation.voiceContent.text",
            "/voiceContent/3 validation.voiceContent.segment",
            "/priority validation.priority.range",
            "/statusCallback validation.statusCallback.type",
            "/expiresAt validation.expiresAt.format",
            "/attributes/a~1b validation.attributes.key",
            "/attributes/n validation.attributes.value",
        ])
        // requestId is readable but itself invalid (a control character): the
        // producer still gets a rejected result under it, and the record is
        // dead-lettered as well.
        #expect(result.requestId == "bad\u{1}id")
        #expect(result.shouldDeadLetter && result.shouldPublishRejected)
    }

    @Test func identifiersProducersReallyUseAreValid() {
        let ids = [
            "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66/x y", #"{}:{alertname="DiskFull"}"#, "a/b?c=d#e&f",
            "café 警报", String(repeating: "é", count: 256), "🚨",
        ]
        for id in ids {
            let document = #"{"requestId":\#(TestSupport.jsonString(id)),"idempotencyKey":\#(TestSupport.jsonString(String(id.reversed()))),"called":"123","voiceContent":"1"}"#
            let result = decode(document)
            #expect(result.kind == .valid, "\(id): \(result.errors)")
            #expect(result.request?.requestId == id)
            #expect(result.request?.idempotencyKey == String(id.reversed()))
        }
    }

    @Test(arguments: [
        (String(repeating: "r", count: 257), "validation.requestId.length"),
        ("req\u{0}1", "validation.requestId.charset"),
        ("tab\there", "validation.requestId.charset"),
        ("c1\u{85}", "validation.requestId.charset"),
    ])
    func anInvalidButReadableRequestIdIsRejectedUnderItself(id: String, code: String) {
        let result = decode(#"{"requestId":\#(TestSupport.jsonString(id)),"called":"123","voiceContent":"1"}"#)
        #expect(result.kind == .invalid)
        #expect(result.errors.map(\.code) == [code])
        #expect(result.requestId == id)
        #expect(result.idempotencyKey == id)
        #expect(result.shouldPublishRejected && result.shouldDeadLetter)
    }

    @Test func anEmptyRequestIdIsNotReadable() {
        let result = decode(#"{"requestId":"","called":"123","voiceContent":"1"}"#)
        #expect(result.requestId == nil)
        #expect(result.shouldDeadLetter && !result.shouldPublishRejected)
    }

    @Test func invalidRequestWithReadableIdIsRejectedNotDeadLettered() {
        let result = decode(#"{"requestId":"r-3","idempotencyKey":"k-3","called":"nope","voiceContent":"1","attributes":{"team":"dba"}}"#)
        #expect(result.kind == .invalid)
        #expect(result.requestId == "r-3")
        #expect(result.idempotencyKey == "k-3")
        #expect(result.attributes == ["team": "dba"])
        #expect(result.shouldPublishRejected && !result.shouldDeadLetter)
        #expect(result.errors.map(\.code) == ["validation.called.format"])
    }

    @Test func messagesNeverEchoPhoneNumbers() {
        let result = decode(#"{"requestId":"r","called":"86+13812345678","callerPresent":"4008-001234","voiceContent":"1"}"#)
        #expect(result.errors.count == 2)
        for error in result.errors {
            #expect(!error.message.contains("13812345678") && !error.message.contains("001234"))
        }
    }

    @Test func unknownTopLevelFieldsAreIgnoredButSegmentsAreClosed() {
        #expect(decode(#"{"requestId":"r","called":"123","voiceContent":"1","future":{"x":[1,null]}}"#).kind == .valid)
        #expect(decode(#"{"requestId":"r","called":"123","voiceContent":[{"voiceId":"1","lang":"en"}]}"#).errors.map(\.code)
            == ["validation.voiceContent.segment"])
    }

    @Test func nullIsATypeError() {
        let result = decode(#"{"requestId":"r","called":"123","voiceContent":"1","priority":null,"callerPresent":null}"#)
        #expect(result.errors.map(\.code) == ["validation.callerPresent.type", "validation.priority.type"])
    }

    @Test func voiceContentLengthCountsTheEncodedString() {
        // 333 segments "ab" + 332 '~' = 998; with one more 1-char segment: 1000 exactly.
        let fits = Array(repeating: #"{"voiceId":"ab"}"#, count: 333).joined(separator: ",") + #",{"voiceId":"c"}"#
        #expect(decode(#"{"requestId":"r","called":"123","voiceContent":[\#(fits)]}"#).kind == .valid)
        let over = Array(repeating: #"{"voiceId":"ab"}"#, count: 333).joined(separator: ",") + #",{"text":"c"}"#
        #expect(decode(#"{"requestId":"r","called":"123","voiceContent":[\#(over)]}"#).errors.map(\.code) == ["validation.voiceContent.length"])
    }

    @Test func throwingInitializerUsesTheSameRules() throws {
        let request = try NotificationRequest(requestId: "r-4", called: "+123456", voiceContent: .segments([.text("hi"), .voiceId("9")]))
        #expect(request.voiceContent == "$hi$~9")
        #expect(throws: ValidationFailure.self) {
            try NotificationRequest(requestId: "r-4", called: "+123456", voiceContent: .segments([.text("5$")]), priority: 0)
        }
        do {
            _ = try NotificationRequest(requestId: "", called: "x", voiceContent: .raw(""))
            Issue.record("expected a failure")
        } catch {
            #expect(error.errors.map(\.code) == ["validation.requestId.length", "validation.called.format", "validation.voiceContent.empty"])
        }
    }

    @Test func jsonPointerEscapesTildeAndSlash() {
        #expect(JSONPointer.appending("a~/b", to: "/attributes") == "/attributes/a~0~1b")
        #expect(JSONPointer.appending(2, to: "/voiceContent") == "/voiceContent/2")
    }
}
