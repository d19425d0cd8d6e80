import NIOPosix

/// Runs librdkafka's blocking calls away from Swift's cooperative pool.
enum BlockingLoop {
    /// Runs `body` on a thread of its own until it returns; the caller's task
    /// awaits it. Used for a client's poll loop, which blocks in
    /// `rd_kafka_queue_poll` for its whole life.
    static func runOnDedicatedThread<Result: Sendable>(
        _ body: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        do {
            let result = try await pool.runIfActive(body)
            try await pool.shutdownGracefully()
            return result
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
    }

    /// Runs one short blocking call (commit, metadata, destroy) on the shared
    /// blocking pool.
    static func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
