import NIOConcurrencyHelpers
import NIOCore

/// The consumer's events as an `AsyncSequence`, buffered with back-pressure:
/// when the application falls behind, the consumer stops taking records from
/// librdkafka (which then stops fetching) instead of buffering without bound.
///
/// Every iterator made from it reads the same stream: a loop may stop
/// (`break`) and a later loop continues where it left off. Iterate from one
/// task at a time.
public struct KafkaConsumerEvents: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerEvent
    typealias Strategy = NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark
    typealias Wrapped = NIOAsyncSequenceProducer<KafkaConsumerEvent, Strategy, KafkaConsumerEventsDelegate>

    /// NIO's sequence allows one iterator; copies of it share its state, so
    /// one is made up front and handed out to every loop.
    final class SharedIterator: @unchecked Sendable {
        let iterator: Wrapped.AsyncIterator
        init(_ iterator: Wrapped.AsyncIterator) { self.iterator = iterator }
    }

    let shared: SharedIterator

    init(wrapped: Wrapped) {
        self.shared = SharedIterator(wrapped.makeAsyncIterator())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var wrapped: Wrapped.AsyncIterator

        public mutating func next() async -> KafkaConsumerEvent? {
            await self.wrapped.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(wrapped: self.shared.iterator)
    }
}

/// Connects the buffer's demand to the poll thread.
final class KafkaConsumerEventsDelegate: NIOAsyncSequenceProducerDelegate, Sendable {
    let demand = DemandSignal()
    private let terminatedBox = NIOLockedValueBox(false)

    /// The application stopped iterating: nothing will acknowledge
    /// revocations or take records any more.
    var isTerminated: Bool { self.terminatedBox.withLockedValue { $0 } }

    func produceMore() {
        self.demand.signal()
    }

    func didTerminate() {
        self.terminatedBox.withLockedValue { $0 = true }
        self.demand.signal()
    }
}
