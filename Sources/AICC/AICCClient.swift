public import AsyncHTTPClient
public import Logging
public import NIOCore
public import Tracing

/// A client of Huawei AICC's voice notification API (aicc-api.md §1–2).
///
/// It owns an `HTTPClient` sized for ``Configuration/maxConcurrency``, caches the
/// `tokenByAkSk` token, bounds concurrent calls and the call rate, and maps every
/// answer to ``VoiceNotificationAccepted`` or a classified ``AICCError``. Call
/// ``shutdown()`` when done.
///
/// Credentials are never logged: AsyncHTTPClient logs neither headers nor bodies,
/// and this client logs only codes, statuses and timings.
public final class AICCClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: Configuration

    let httpClient: HTTPClient
    let tokenProvider: TokenProvider
    let tokenFetcher: TokenFetcher
    let concurrencyLimiter: ConcurrencyLimiter
    let rateLimiter: RateLimiter
    let tokenURL: String
    let createURL: String
    let tracer: any Tracer

    /// Creates a client.
    /// - Parameters:
    ///   - configuration: The settings; ``Configuration/baseURL`` must be an `http` or `https` URL.
    ///   - eventLoopGroup: Where the connections live. Default: NIO's shared singleton group.
    ///   - backgroundLogger: For connection-pool activity that belongs to no call.
    ///   - onTokenFetch: Called after each `tokenByAkSk` round trip the
    ///     client makes for its token cache (first fetch and refreshes, not
    ///     ``probe(logger:)``), with whether it produced a token; for metrics.
    ///     Default: none.
    ///   - tracer: Whose client spans the calls made inside a traced task are
    ///     (product §11). Default: none (`NoOpTracer`).
    /// - Throws: ``AICCError`` with code `aicc.configuration.invalid`.
    public init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
        backgroundLogger: Logger,
        onTokenFetch: (@Sendable (_ succeeded: Bool) -> Void)? = nil,
        tracer: any Tracer = NoOpTracer()
    ) throws {
        self.tracer = tracer
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("http://") || base.hasPrefix("https://"), base.count > "https://".count else {
            throw AICCError(code: .configurationInvalid, outcomeClass: .outage, delivery: .notSent, underlying: "baseURL must be an http(s) URL")
        }
        guard configuration.maxConcurrency > 0, configuration.callsPerSecond > 0, configuration.burst > 0,
              configuration.timeout > .zero, configuration.connectTimeout > .zero, configuration.tokenLifetime >= .seconds(1)
        else {
            throw AICCError(code: .configurationInvalid, outcomeClass: .outage, delivery: .notSent, underlying: "limits and durations must be positive")
        }
        self.configuration = configuration
        self.tokenURL = base + "/apigovernance/api/oauth/tokenByAkSk"
        self.createURL = base + "/apiaccess/rest/voiceNotification/v1/createVoiceNotification"

        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout = .init(connect: TimeAmount(min(configuration.connectTimeout, configuration.timeout)), read: nil)
        httpConfiguration.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxConcurrency + 1
        )
        // Fail a request at once when its connection cannot be made, instead of
        // retrying until the deadline: a refused connection is "never sent".
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        httpConfiguration.redirectConfiguration = .disallow
        httpConfiguration.decompression = .disabled
        self.httpClient = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: httpConfiguration, backgroundActivityLogger: backgroundLogger)
        self.concurrencyLimiter = ConcurrencyLimiter(limit: configuration.maxConcurrency)
        self.rateLimiter = RateLimiter(ratePerSecond: configuration.callsPerSecond, burst: configuration.burst)

        let fetcher = TokenFetcher(
            httpClient: self.httpClient,
            tracer: tracer,
            url: self.tokenURL,
            appKey: configuration.appKey,
            appSecret: configuration.appSecret,
            lifetime: configuration.tokenLifetime,
            refreshMargin: configuration.refreshMargin,
            timeout: configuration.timeout,
            maxBodySize: configuration.maxResponseBodySize
        )
        self.tokenFetcher = fetcher
        self.tokenProvider = TokenProvider(fetch: { logger in
            do {
                let token = try await fetcher.fetch(logger: logger)
                onTokenFetch?(true)
                return token
            } catch {
                onTokenFetch?(false)
                throw error
            }
        })
    }

    /// Makes sure a valid token is cached (fetching one if needed), e.g. for a readiness
    /// check or to fail fast on wrong credentials at start.
    /// - Returns: How long the cached token stays valid.
    /// - Throws: ``AICCError`` (`aicc.auth.credentials`, `aicc.auth.*`, `aicc.connect`).
    @discardableResult
    public func prepareToken(logger: Logger) async throws -> Duration {
        let token = try await self.currentToken(logger: logger)
        return ContinuousClock.now.duration(to: token.expiresAt)
    }

    /// Asks `tokenByAkSk` for a new token now, whatever is cached: one real
    /// round trip to AICC, for an outage probe (a cached token says nothing
    /// about whether AICC answers). The new token replaces the cached one.
    /// - Throws: ``AICCError`` (`aicc.auth.credentials`, `aicc.auth.*`, `aicc.connect`).
    public func probe(logger: Logger) async throws(AICCError) {
        let token = try await self.tokenFetcher.fetch(logger: logger)
        self.tokenProvider.replace(with: token)
    }

    /// Closes the connections. Call once, after the last call returned.
    public func shutdown() async throws {
        try await self.httpClient.shutdown()
    }

    func currentToken(logger: Logger, issuedAfter: ContinuousClock.Instant? = nil) async throws(AICCError) -> AccessToken {
        do {
            return try await self.tokenProvider.token(logger: logger, issuedAfter: issuedAfter)
        } catch let error as AICCError {
            throw error
        } catch {
            throw AICCError(code: .cancelled, outcomeClass: .transient, delivery: .notSent, underlying: String(describing: error))
        }
    }
}
