import Foundation
@testable import NotifyCore
import Testing

/// The fast paths of the hot text helpers (issue 25) must say exactly what
/// the general paths say.
@Suite struct TextFastPathTests {
    /// Strings that take each path: plain ASCII, every escaped character,
    /// non-ASCII text with and without U+2028/U+2029, other `E2` sequences.
    static let samples: [String] = [
        "", "req-42", "+8613812345678", "a/b:c", "say \"hi\"", "back\\slash", "tab\there", "line\nbreak",
        "\u{01}\u{1F}\u{7F}", "ünïcödé", "中文通知", "sep\u{2028}ara\u{2029}tor", "dash – and … ellipsis", "emoji 🚨",
    ]

    @Test(arguments: samples)
    func appendStringAgreesWithFoundation(_ string: String) throws {
        var out = ""
        JSONText.appendString(string, to: &out)
        // Foundation reads it back as the same string…
        let decoded = try JSONDecoder().decode(String.self, from: Data(out.utf8))
        #expect(decoded == string)
        // …and nothing the slow path escapes is left raw.
        #expect(!out.dropFirst().dropLast().unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{2028}" || $0 == "\u{2029}" })
    }

    @Test func fastPathIsTakenOnlyWhenNothingNeedsEscaping() {
        #expect(!JSONText.needsEscaping("req-42 +8613812345678 ünï 中文"))
        #expect(JSONText.needsEscaping("say \"hi\""))
        #expect(JSONText.needsEscaping("back\\slash"))
        #expect(JSONText.needsEscaping("\u{7F}"))
        #expect(JSONText.needsEscaping("sep\u{2028}"))
        // Any E2 lead byte goes the slow way, which writes it unescaped.
        var out = ""
        JSONText.appendString("a – b", to: &out)
        #expect(out == "\"a – b\"")
    }

    @Test(arguments: [
        ("+8613812345678", "+*********5678"), ("010-1234-5678", "***-****-5678"), ("1234", "****"), ("", ""),
        ("+86 138 1234 5678", "+** *** **** 5678"),
        // Non-ASCII digits count as digits (the general path).
        ("１２３４５６", "**３４５６"), ("+86 ١٢٣٤٥٦", "+** **٣٤٥٦"),
    ])
    func maskKeepsTheLastFourDigits(_ number: String, _ masked: String) {
        #expect(PhoneNumberMask.mask(number) == masked)
    }
}
