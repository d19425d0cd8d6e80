import Kafka
@testable import NotifyDemo
import NotifyCore
import Testing

/// `demo` counts dead letters by their source record (issue #27): a dead
/// letter produced again after a rebalance (Kafka's at-least-once) is one
/// dead-lettered record, and the re-send is reported, not counted twice.
@Suite struct DemoCountTests {
    static func deadLetter(source offset: Int64, at dlqOffset: Int64) -> KafkaConsumerMessage {
        KafkaConsumerMessage(
            topic: "notification.requests.dlq", partition: 0, offset: dlqOffset, key: nil, value: Array("not json".utf8),
            headers: [
                KafkaHeader(key: DeadLetterHeader.errorCode, string: "decode.json"),
                KafkaHeader(key: DeadLetterHeader.sourceTopic, string: "notification.requests"),
                KafkaHeader(key: DeadLetterHeader.sourcePartition, string: "3"),
                KafkaHeader(key: DeadLetterHeader.sourceOffset, string: String(offset)),
            ],
            timestampMilliseconds: nil)
    }

    @Test func aReSentDeadLetterCountsOnceAndIsReported() {
        var collected = Demo.Collected(results: [], deadLetters: [:])
        collected.deadLettered(Self.deadLetter(source: 17, at: 0))
        collected.deadLettered(Self.deadLetter(source: 17, at: 1))  // the same record, re-sent after a rebalance
        #expect(collected.deadLetters.count == 1)
        #expect(collected.deadLetterResends == 1)
        collected.deadLettered(Self.deadLetter(source: 18, at: 2))
        #expect(collected.deadLetters.count == 2)
        #expect(collected.deadLetterResends == 1)
    }

    @Test func theSummarySaysWhenItSawAReSend() {
        var report = Demo.Report(
            rows: [], outcomes: ["accepted": 3], deadLettered: 1, deadLetterResends: 1, callStatuses: 0, simulatorCalls: 3,
            simulatorAccepted: 3, matchesSimulator: true, elapsed: .seconds(1))
        #expect(report.text.contains("1 dead-lettered (1 dead letter(s) seen again after a rebalance"))
        report.deadLetterResends = 0
        #expect(report.text.contains("1 dead-lettered; "))
    }
}
