import AICC
import Testing

@Suite struct VoiceContentTests {
    @Test func encodesSegments() throws {
        let encoded = try VoiceContent.encode([.voiceID("1133999"), .text("Tom"), .voiceID("2225149")])
        #expect(encoded == "1133999~$Tom$~2225149")
        #expect(try VoiceContent.decode(encoded) == [.voiceID("1133999"), .text("Tom"), .voiceID("2225149")])
        #expect(try VoiceContent.encode([.text("Disk full on db-1, please check")]) == "$Disk full on db-1, please check$")
    }

    @Test(arguments: ["a$b", "a~b", "$", "~"])
    func refusesReservedCharactersInText(_ text: String) {
        #expect(throws: VoiceContent.Failure.self) { try VoiceContent.encode([.text(text)]) }
        #expect(throws: VoiceContent.Failure.self) { try VoiceContent.encode([.voiceID(text)]) }
    }

    @Test func refusesEmpty() {
        #expect(throws: VoiceContent.Failure.empty) { try VoiceContent.encode([]) }
        #expect(throws: VoiceContent.Failure.emptySegment(index: 1)) { try VoiceContent.encode([.text("a"), .text("")]) }
        #expect(throws: VoiceContent.Failure.empty) { try VoiceContent.validate("") }
    }

    @Test func enforcesOneThousandCharacters() throws {
        let fits = String(repeating: "x", count: 998)
        #expect(try VoiceContent.encode([.text(fits)]).utf16.count == 1000)
        #expect(throws: VoiceContent.Failure.tooLong(length: 1001)) { try VoiceContent.encode([.text(fits + "x")]) }
        // Counted in UTF-16 code units, as AICC's Java does: an emoji counts 2.
        #expect(throws: VoiceContent.Failure.tooLong(length: 1001)) { try VoiceContent.encode([.text(String(repeating: "x", count: 997) + "😀")]) }
    }

    @Test(arguments: ["1133~~2225", "$Tom", "Tom$", "$To$m$", "$$", "~1133"])
    func rejectsMalformedRawStrings(_ raw: String) {
        #expect(throws: VoiceContent.Failure.self) { try VoiceContent.validate(raw) }
    }
}
