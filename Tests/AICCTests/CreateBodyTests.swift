@testable import AICC
import Foundation
import NIOCore
import Testing

/// The hand-written create body (issue 25) says byte for byte what
/// `JSONEncoder` said before it.
@Suite struct CreateBodyTests {
    static let texts: [String] = [
        "", "TTS:alert", "say \"hi\" \\ back", "https://a/b?c&d#e", "line\nbreak\r\ttab\u{08}\u{0C}",
        "\u{01}\u{1F}\u{7F}", "中文通知 ünï 🚨", "sep\u{2028}ara\u{2029}tor",
    ]

    @Test(arguments: texts)
    func stringsAreWrittenAsJSONEncoderWritesThem(_ text: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var buffer = ByteBuffer()
        CreateBody.writeString(text, to: &buffer)
        #expect(Array(buffer.readableBytesView) == Array(try encoder.encode(text)))
    }

    /// `JSONEncoder` orders keys as it likes; the written body has them in
    /// the declared order, and reads back as the same object.
    @Test(arguments: texts)
    func bodiesReadBackAsWhatJSONEncoderWrote(_ text: String) throws {
        let bodies = [
            CreateBody(voiceContent: text, callerPresent: nil, called: "+8613812345678", callBackUrl: nil, priority: nil),
            CreateBody(voiceContent: "TTS:x", callerPresent: text, called: text, callBackUrl: "aHR0cHM6Ly9h", priority: "3"),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        for body in bodies {
            let written = try JSONSerialization.jsonObject(with: Data(body.buffer.readableBytesView)) as? [String: String]
            let expected = try JSONSerialization.jsonObject(with: try encoder.encode(body)) as? [String: String]
            #expect(written != nil)
            #expect(written == expected)
        }
        let text = String(buffer: bodies[1].buffer)
        #expect(text.hasPrefix("{\"voiceContent\":\"TTS:x\",\"callerPresent\":"))
        #expect(text.hasSuffix(",\"callBackUrl\":\"aHR0cHM6Ly9h\",\"priority\":\"3\"}"))
    }

    @Test func theClientSendsTheWrittenBody() throws {
        let notification = VoiceNotification(
            called: "+8613812345678", callerPresent: "4001", voiceContent: "TTS:disk \"full\"",
            callbackURL: "https://example.com/cb?x&y", priority: 2)
        let buffer = try AICCClient.encodeBody(notification)
        let object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: String]
        #expect(object == [
            "voiceContent": "TTS:disk \"full\"", "callerPresent": "4001", "called": "+8613812345678",
            "callBackUrl": Data("https://example.com/cb?x&y".utf8).base64EncodedString(), "priority": "2",
        ])
    }
}
