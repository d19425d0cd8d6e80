import NotifyCore
import Testing

@Suite struct JSONLinesTests {
    @Test func numbersLinesAndSkipsBlankOnes() {
        let lines = JSONLines.lines(Array("{\"a\":1}\r\n\n  \t\n{\"b\":2}\n{\"c\":3}".utf8))
        #expect(lines.map(\.number) == [1, 4, 5])
        #expect(lines.map { String(decoding: $0.bytes, as: UTF8.self) } == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
        #expect(JSONLines.lines([]).isEmpty)
    }

    @Test func theSplitterKeepsNoMoreThanTheLimitOfALine() {
        var splitter = JSONLines.Splitter(limit: 10)
        var items: [JSONLines.Splitter.Item] = []
        items += splitter.feed(Array("{\"a\":1}\r\n\n   \n0123456789".utf8))
        for _ in 0..<1000 { items += splitter.feed([UInt8](repeating: 0x61, count: 1000)) }
        items += splitter.feed(Array("\nlast".utf8))
        items += splitter.finish()
        #expect(items == [
            .line(.init(number: 1, bytes: Array("{\"a\":1}".utf8))),
            .tooLong(number: 4, length: 1_000_010),
            .line(.init(number: 5, bytes: Array("last".utf8))),
        ])
        // Exactly the limit is a line; one more byte is too long, with or without \r\n.
        var exact = JSONLines.Splitter(limit: 3)
        #expect(exact.feed(Array("abc\r\nabcd\n".utf8)) == [
            .line(.init(number: 1, bytes: Array("abc".utf8))), .tooLong(number: 2, length: 4),
        ])
    }
}
