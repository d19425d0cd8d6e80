import Foundation
import Logging
import NIOConcurrencyHelpers
import NotifyWorker
import Testing

@Suite("Text logs escape what producers send")
struct TextLogHandlerTests {
    private func capture(_ body: (Logger) -> Void) -> [String] {
        let lines = NIOLockedValueBox<[String]>([])
        var logger = Logger(label: "aicc-notify.test") { label in
            TextLogHandler(label: label) { line in lines.withLockedValue { $0.append(line) } }
        }
        logger.logLevel = .debug
        body(logger)
        return lines.withLockedValue { $0 }
    }

    @Test("A producer's identifier is one escaped value: it cannot forge a line or a key")
    func identifiersAreEscaped() throws {
        let hostile = "x\" kafka.offset=1\nfake info line: forged=1 é"
        let lines = self.capture { logger in
            logger.info("result", metadata: ["request.id": "\(hostile)", "kafka.offset": "7", "plain": "r-1:a.b"])
        }
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        #expect(line.hasSuffix("\n") && !line.dropLast().contains("\n"))
        #expect(line.contains(" info aicc-notify.test: result "))
        #expect(line.contains(#" request.id="x\" kafka.offset=1\nfake info line: forged=1 é""#))
        #expect(line.contains(" kafka.offset=7"))
        #expect(line.contains(" plain=r-1:a.b"))
        // The value decodes back to exactly what was logged.
        let start = try #require(line.range(of: "request.id=")).upperBound
        let rest = String(line[start...])
        let literal = try #require(rest.range(of: #"é""#)).upperBound
        let decoded = try JSONDecoder().decode(String.self, from: Data(rest[..<literal].utf8))
        #expect(decoded == hostile)
    }

    @Test("A message with a line break stays on one line")
    func messagesStayOnOneLine() throws {
        let lines = self.capture { logger in logger.warning("two\nlines") }
        #expect(lines == lines.filter { !$0.dropLast().contains("\n") })
        #expect(try #require(lines.first).contains(#"two\nlines"#))
    }
}
