extension AICCClient {
    /// Settings of an ``AICCClient`` (product.md §6 keys `aicc.*`).
    public struct Configuration: Sendable, CustomStringConvertible {
        /// The AICC base URL, scheme and host (and port) only, e.g.
        /// `https://service.besclouds.com`. Required. `https` uses TLS (AsyncHTTPClient's
        /// default trust roots).
        public var baseURL: String
        /// The app key (`app_key` of `tokenByAkSk`, and the `X-APP-Key` header). Required.
        public var appKey: String
        /// The app secret (`app_secret` of `tokenByAkSk`). Required. Never logged and
        /// left out of ``description``.
        public var appSecret: String
        /// The token lifetime asked for in `X-Token-Expire`. Default 3600 s (AICC's maximum;
        /// larger values are sent as 3600).
        public var tokenLifetime: Duration = .seconds(3600)
        /// How long before the token expires the client gets a new one. Default 60 s, but never
        /// more than a fifth of the lifetime AICC granted. While a refresh is in flight, other
        /// callers keep using the still valid token.
        public var refreshMargin: Duration = .seconds(60)
        /// The deadline of one HTTP exchange (connect, send, answer). Default 10 s. Waiting for a
        /// concurrency slot or for the rate limiter is not included.
        public var timeout: Duration = .seconds(10)
        /// The time allowed to open a connection. Default 3 s (kept below ``timeout``).
        public var connectTimeout: Duration = .seconds(3)
        /// The largest number of `createVoiceNotification` calls in flight. Default 64.
        /// Also the size of the connection pool.
        public var maxConcurrency: Int = 64
        /// The ceiling on `createVoiceNotification` calls started per second (token bucket).
        /// Default 50.
        public var callsPerSecond: Double = 50
        /// How many calls may start back to back before ``callsPerSecond`` spacing applies.
        /// Default 10. Over any interval `T`, at most `burst + callsPerSecond × T` calls start.
        public var burst: Int = 10
        /// The largest response body read. Default 64 KiB.
        public var maxResponseBodySize: Int = 64 * 1024

        /// A configuration with the required values; every other setting has its default.
        public init(baseURL: String, appKey: String, appSecret: String) {
            self.baseURL = baseURL
            self.appKey = appKey
            self.appSecret = appSecret
        }

        public var description: String {
            "AICCClient.Configuration(baseURL: \(self.baseURL), appKey: \(self.appKey), appSecret: <redacted>, "
                + "tokenLifetime: \(self.tokenLifetime), refreshMargin: \(self.refreshMargin), timeout: \(self.timeout), "
                + "connectTimeout: \(self.connectTimeout), maxConcurrency: \(self.maxConcurrency), "
                + "callsPerSecond: \(self.callsPerSecond), burst: \(self.burst))"
        }
    }
}
