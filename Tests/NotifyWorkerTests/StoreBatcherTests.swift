import NIOConcurrencyHelpers
import NotifyStore
import Testing

@testable import NotifyWorker

/// The coalescer in front of the store's batch operations (issue 25).
@Suite("Store batcher")
struct StoreBatcherTests {
    @Test("200 callers at once: each gets its own answer, in fewer batches than callers, none larger than the bound")
    func everyCallerGetsItsOwnAnswer() async throws {
        let batches = NIOLockedValueBox<[[Int]]>([])
        let batcher = StoreBatcher<Int, Int> { inputs throws(StoreError) in
            batches.withLockedValue { $0.append(inputs) }
            try? await Task.sleep(for: .milliseconds(5))
            // Odd inputs fail alone, as a lost claim does.
            return inputs.map { $0 % 2 == 0 ? .success($0 * 10) : .failure(.claimLost("\($0)")) }
        }
        let answers = await withTaskGroup(of: (Int, Result<Int, StoreError>).self) { group in
            for input in 0..<200 {
                group.addTask {
                    do throws(StoreError) {
                        return (input, .success(try await batcher.run(input)))
                    } catch {
                        return (input, .failure(error))
                    }
                }
            }
            var answers: [Int: Result<Int, StoreError>] = [:]
            for await (input, answer) in group { answers[input] = answer }
            return answers
        }
        #expect(answers.count == 200)
        for (input, answer) in answers {
            if input % 2 == 0 {
                #expect(try answer.get() == input * 10)
            } else {
                #expect(answer.failureValue?.message == "\(input)")
            }
        }
        let seen = batches.withLockedValue { $0 }
        #expect(seen.flatMap { $0 }.sorted() == Array(0..<200), "each input in exactly one batch")
        #expect(seen.count < 200, "callers arriving together share batches")
        #expect(seen.allSatisfy { $0.count <= StoreBatcher<Int, Int>.maximumBatch })
    }

    @Test("A batch that fails as a whole fails each of its callers, and the next batch goes on")
    func aFailedBatchFailsItsCallers() async throws {
        let calls = NIOLockedValueBox(0)
        let batcher = StoreBatcher<Int, Int> { inputs throws(StoreError) in
            let call = calls.withLockedValue { count -> Int in
                count += 1
                return count
            }
            if call == 1 { throw StoreError.unavailable("the store is away") }
            return inputs.map { .success($0) }
        }
        await #expect(throws: StoreError.self) { _ = try await batcher.run(1) }
        #expect(try await batcher.run(2) == 2, "a lone caller goes at once, in its own batch")
        #expect(calls.withLockedValue { $0 } == 2)
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
