import Foundation
import NotifyCore
import Testing

@testable import NotifyWorker

/// The dispatch loop's mailbox (issue 25): what is posted while the loop is
/// busy comes out together; nothing is lost or handed out twice.
@Suite("Action mailbox")
struct ActionMailboxTests {
    static func retry(_ offset: Int64) -> DispatchMachine.Action {
        .scheduleRetry(RecordID(partition: TopicPartition(topic: "t", partition: 0), offset: offset), at: Date(timeIntervalSince1970: 0))
    }

    @Test("Posts made while nobody waits come out as one batch, in order")
    func postsComeOutTogether() async {
        let mailbox = ActionMailbox()
        mailbox.post([Self.retry(1)])
        mailbox.post([Self.retry(2), Self.retry(3)])
        mailbox.post([])
        #expect(await mailbox.next() == [Self.retry(1), Self.retry(2), Self.retry(3)])
        mailbox.post([Self.retry(4)])
        #expect(await mailbox.next() == [Self.retry(4)])
    }

    @Test("2,000 posts from 20 tasks while the loop takes: each action comes out exactly once")
    func concurrentPostsArriveOnce() async {
        let mailbox = ActionMailbox()
        let taken = await withTaskGroup(of: [DispatchMachine.Action].self) { group in
            group.addTask {
                var taken: [DispatchMachine.Action] = []
                while let batch = await mailbox.next() { taken += batch }
                return taken
            }
            await withTaskGroup(of: Void.self) { posters in
                for poster in 0..<20 {
                    posters.addTask {
                        for n in 0..<100 {
                            mailbox.post([Self.retry(Int64(poster * 100 + n))])
                            if n % 10 == 0 { await Task.yield() }
                        }
                    }
                }
            }
            mailbox.finish()
            return await group.next()!
        }
        #expect(taken.count == 2_000)
        #expect(Set(taken).count == 2_000)
    }

    @Test("finish ends a waiting loop; posts after it are ignored; a cancelled loop ends too")
    func finishAndCancellationEndTheLoop() async {
        let mailbox = ActionMailbox()
        async let waited = mailbox.next()
        try? await Task.sleep(for: .milliseconds(50))
        mailbox.finish()
        #expect(await waited == nil)
        mailbox.post([Self.retry(1)])
        #expect(await mailbox.next() == nil)

        let other = ActionMailbox()
        let loop = Task { await other.next() }
        try? await Task.sleep(for: .milliseconds(50))
        loop.cancel()
        #expect(await loop.value == nil)
    }
}
