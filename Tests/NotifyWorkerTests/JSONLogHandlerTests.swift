import Foundation
import Logging
import NIOConcurrencyHelpers
import NotifyCore
import NotifyWorker
import Testing

@Suite("Structured JSON logs")
struct JSONLogHandlerTests {
    private func capture(_ body: (Logger) -> Void) throws -> [[String: Any]] {
        let lines = NIOLockedValueBox<[String]>([])
        var logger = Logger(label: "aicc-notify.test") { label in
            JSONLogHandler(label: label) { line in lines.withLockedValue { $0.append(line) } }
        }
        logger.logLevel = .debug
        logger[metadataKey: "worker.id"] = "w-1"
        body(logger)
        return try lines.withLockedValue { $0 }.map { line in
            #expect(line.hasSuffix("\n"))
            #expect(line.dropLast().contains("\n") == false, "one line per event")
            return try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test("Each event is one parseable JSON line with dotted metadata keys")
    func oneObjectPerLine() throws {
        let objects = try self.capture { logger in
            logger.info("request accepted", metadata: [
                "request.id": "r-1",
                "kafka.partition": "3",
                "kafka.offset": .stringConvertible(42),
                "aicc.answer": ["retCode": "0", "httpStatus": "200"],
                "tags": ["a", "b"],
            ])
            logger.debug("quote \" backslash \\ newline \n tab \t control \u{01} end")
            logger.trace("below the level")
        }
        #expect(objects.count == 2)
        let first = objects[0]
        #expect(first["level"] as? String == "info")
        #expect(first["label"] as? String == "aicc-notify.test")
        #expect(first["msg"] as? String == "request accepted")
        #expect(first["request.id"] as? String == "r-1")
        #expect(first["kafka.offset"] as? String == "42")
        #expect(first["worker.id"] as? String == "w-1")
        #expect((first["aicc.answer"] as? [String: Any])?["retCode"] as? String == "0")
        #expect(first["tags"] as? [String] == ["a", "b"])
        let timestamp = try #require(first["ts"] as? String)
        #expect(try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(timestamp) <= Date())
        #expect(objects[1]["msg"] as? String == "quote \" backslash \\ newline \n tab \t control \u{01} end")
    }

    @Test("Masked numbers keep only their last four digits")
    func masking() throws {
        #expect(PhoneNumberMask.mask("+8613812345678") == "+*********5678")
        #expect(PhoneNumberMask.mask("010-1234-5678") == "***-****-5678")
        #expect(PhoneNumberMask.mask("1234") == "****")
        #expect(PhoneNumberMask.mask("") == "")
        let objects = try self.capture { logger in
            logger.info("calling", metadata: ["called": "\(PhoneNumberMask.mask("+8613812345678"))"])
        }
        let line = try #require(objects.first)
        #expect(line["called"] as? String == "+*********5678")
        #expect(!"\(line)".contains("13812345678"))
    }
}
