import NotifyCore
import Testing

@Suite struct JSONLinesTests {
    @Test func numbersLinesAndSkipsBlankOnes() {
        let lines = JSONLines.lines(Array("{\"a\":1}\r\n\n  \t\n{\"b\":2}\n{\"c\":3}".utf8))
        #expect(lines.map(\.number) == [1, 4, 5])
        #expect(lines.map { String(decoding: $0.bytes, as: UTF8.self) } == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
        #expect(JSONLines.lines([]).isEmpty)
    }
}
