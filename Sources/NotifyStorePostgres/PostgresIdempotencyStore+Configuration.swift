import Foundation
public import PostgresNIO
import NIOSSL
public import NotifyStore

extension PostgresIdempotencyStore {
    /// How the PostgreSQL store connects and keeps its keys.
    public struct Configuration: Sendable {
        /// Where and how to connect: host, port, user, password, database, TLS
        /// and pool size. Build it with ``init(url:retention:)`` from a
        /// `store.url`.
        public var client: PostgresClient.Configuration
        /// How long a key is remembered after completion (`store.retention`).
        /// Default 604 800 s (7 days).
        public var retention: Duration
        /// How often `run()` deletes keys past retention. Every replica sweeps;
        /// a sweep is one `DELETE`, so concurrent sweeps only find less to do.
        /// Default 60 s.
        public var sweepInterval: Duration
        /// How long one operation (waiting for a pooled connection included)
        /// may take before it fails with `store.unavailable`, so that an
        /// unreachable server pauses work instead of hanging it. Default 10 s.
        public var operationTimeout: Duration

        /// Creates a configuration from explicit client settings.
        public init(
            client: PostgresClient.Configuration, retention: Duration = .seconds(604_800),
            sweepInterval: Duration = .seconds(60), operationTimeout: Duration = .seconds(10)
        ) {
            self.client = client
            self.retention = retention
            self.sweepInterval = sweepInterval
            self.operationTimeout = operationTimeout
        }

        /// Parses a `store.url`:
        /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAM=VALUE&…]`
        /// (`postgresql://` too). User and password are percent-decoded.
        ///
        /// Parameters:
        /// - `sslmode`: `disable`, `prefer` (the default: TLS when the server
        ///   offers it, certificates verified against the system roots) or
        ///   `require`.
        /// - `max_connections`: the pool's size per process, 1…1000. Default 10.
        /// - `connect_timeout`: seconds to open one connection. Default 10.
        ///
        /// Throws `store.config.invalid` naming `store.url` and what is wrong;
        /// the message never repeats the URL, which may carry a password.
        public init(url: String, retention: Duration = .seconds(604_800)) throws(StoreError) {
            guard let components = URLComponents(string: url),
                  let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql" else {
                throw .invalidConfiguration("store.url: not a postgres://user:pass@host:port/db URL")
            }
            guard var host = components.host, !host.isEmpty else {
                throw .invalidConfiguration("store.url: a postgres URL needs a host, e.g. postgres://user:pass@host:5432/db")
            }
            if host.hasPrefix("[") && host.hasSuffix("]") {
                host = String(host.dropFirst().dropLast())
            }
            guard let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else {
                throw .invalidConfiguration("store.url: a postgres URL needs a user, e.g. postgres://user:pass@host:5432/db")
            }
            let password = components.percentEncodedPassword?.removingPercentEncoding
            let database = String(components.path.drop(while: { $0 == "/" }))
            guard !database.isEmpty, !database.contains("/") else {
                throw .invalidConfiguration("store.url: a postgres URL needs a database name after the host, e.g. …@host:5432/aicc_notify")
            }
            let port = components.port ?? 5432
            guard (1...65535).contains(port) else {
                throw .invalidConfiguration("store.url: port \(port) is out of range")
            }

            var tls = PostgresClient.Configuration.TLS.prefer(.makeClientConfiguration())
            var maxConnections = 10
            var connectTimeout: Duration = .seconds(10)
            for item in components.queryItems ?? [] {
                let value = item.value ?? ""
                switch item.name {
                case "sslmode":
                    switch value {
                    case "disable": tls = .disable
                    case "prefer": tls = .prefer(.makeClientConfiguration())
                    case "require": tls = .require(.makeClientConfiguration())
                    default:
                        throw .invalidConfiguration("store.url: sslmode must be disable, prefer or require (got `\(value.prefix(16))`)")
                    }
                case "max_connections":
                    guard let number = Int(value), (1...1000).contains(number) else {
                        throw .invalidConfiguration("store.url: max_connections must be a whole number in 1…1000")
                    }
                    maxConnections = number
                case "connect_timeout":
                    guard let seconds = Int(value), (1...600).contains(seconds) else {
                        throw .invalidConfiguration("store.url: connect_timeout must be whole seconds in 1…600")
                    }
                    connectTimeout = .seconds(seconds)
                default:
                    throw .invalidConfiguration(
                        "store.url: unknown parameter `\(item.name.prefix(32))` (known: sslmode, max_connections, connect_timeout)")
                }
            }
            var client = PostgresClient.Configuration(
                host: host, port: port, username: user, password: password, database: database, tls: tls)
            client.options.maximumConnections = maxConnections
            client.options.connectTimeout = connectTimeout
            self.init(client: client, retention: retention)
        }

        /// `host:port/database`, for logs (never the user or password).
        public var displayName: String {
            "\(self.client.host ?? self.client.unixSocketPath ?? "?"):\(self.client.port.map(String.init) ?? "-")/\(self.client.database ?? "")"
        }
    }
}
