// swift-tools-version:6.1
import PackageDescription

/// One settings array for every target: Swift 6 language mode, complete strict
/// concurrency, and the upcoming features the server ecosystem already uses.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "aicc-notify",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "aicc-notify", targets: ["aicc-notify"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "AICC", targets: ["AICC"]),
        .library(name: "AICCSimulator", targets: ["AICCSimulator"]),
        .library(name: "AICCWire", targets: ["AICCWire"]),
        .library(name: "NotifyCore", targets: ["NotifyCore"]),
        .library(name: "NotifyWorker", targets: ["NotifyWorker"]),
        .library(name: "NotifyStore", targets: ["NotifyStore"]),
        .library(name: "NotifyStorePostgres", targets: ["NotifyStorePostgres"]),
        .library(name: "NotifyStoreSQLite", targets: ["NotifyStoreSQLite"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.25.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.11.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.0.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.4.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.25.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.25.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.2.0"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
        // OTLP/HTTP only: the gRPC exporter (and grpc-swift) is not built.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.0.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // MARK: Kafka adapter (librdkafka)
        .systemLibrary(
            name: "CRDKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "Kafka",
            dependencies: [
                "CRDKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: AICC wire facts shared by the simulator and the callback endpoint
        .target(
            name: "AICCWire",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: AICC adapter (HTTP client) and the AICC simulator
        .target(
            name: "AICC",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AICCSimulator",
            dependencies: [
                "AICCWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Core (no I/O)
        .target(
            name: "NotifyCore",
            dependencies: [],
            swiftSettings: swiftSettings
        ),

        // MARK: The worker: configuration and wiring of the adapters
        .target(
            name: "NotifyWorker",
            dependencies: [
                "AICC",
                "Kafka",
                "NotifyCore",
                "NotifyHTTP",
                "NotifyRouting",
                "NotifyStore",
                "NotifyStorePostgres",
                "NotifyStoreSQLite",
                "NotifyTracing",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Trace context (W3C) and span export (OTLP/HTTP)
        .target(
            name: "NotifyTracing",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Alert routing: rules, alerts, templates (no I/O)
        .target(
            name: "NotifyRouting",
            dependencies: [
                "NotifyCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: HTTP endpoint: status callbacks, /healthz, /readyz, /metrics
        .target(
            name: "NotifyHTTP",
            dependencies: [
                "AICCWire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: The demo: the worker with in-process mock Kafka, simulator and SQLite
        .target(
            name: "NotifyDemo",
            dependencies: [
                "AICCSimulator",
                "Kafka",
                "NotifyCore",
                "NotifyRouting",
                "NotifyWorker",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: The benchmark: the worker process against in-process mock Kafka and simulator
        .target(
            name: "NotifyBench",
            dependencies: [
                "AICCSimulator",
                "Kafka",
                "NotifyDemo",
                "NotifyWorker",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Idempotency store: the protocol and what both stores share
        .target(
            name: "NotifyStore",
            dependencies: [
                "NotifyCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // MARK: Idempotency store embedded in one process: SQLite (GRDB)
        .target(
            name: "NotifyStoreSQLite",
            dependencies: [
                "NotifyCore",
                "NotifyStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // MARK: Idempotency store shared by a fleet: PostgreSQL
        .target(
            name: "NotifyStorePostgres",
            dependencies: [
                "NotifyCore",
                "NotifyStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test helper, not shipped: claims and records keys in a SQLite store and
        // prints each acknowledged step, so NotifyStoreTests can kill -9 it and
        // check what survived. See Sources/aicc-notify-store-probe/main.swift.
        .executableTarget(
            name: "aicc-notify-store-probe",
            dependencies: [
                "NotifyCore",
                "NotifyStore",
                "NotifyStoreSQLite",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: The executable: ArgumentParser commands only
        .executableTarget(
            name: "aicc-notify",
            dependencies: [
                "AICCWire",
                "Kafka",
                "AICCSimulator",
                "NotifyCore",
                "NotifyBench",
                "NotifyDemo",
                "NotifyRouting",
                "NotifyTracing",
                "NotifyWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        // Test support, not shipped: throwaway servers for the tests (a
        // PostgreSQL cluster, a noida-db Kafka broker).
        .target(
            name: "TestServers",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/TestServers",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: [
                "Kafka",
                "TestServers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AICCTests",
            dependencies: [
                "AICC",
                "AICCSimulator",
                "NotifyCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AICCSimulatorTests",
            dependencies: [
                "AICCWire",
                "AICCSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NotifyWorkerTests",
            dependencies: [
                "AICCSimulator",
                "AICCWire",
                "NotifyDemo",
                "NotifyHTTP",
                "Kafka",
                "NotifyWorker",
                "NotifyCore",
                "NotifyStore",
                "NotifyStoreSQLite",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NotifyRoutingTests",
            dependencies: ["NotifyCore", "NotifyRouting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NotifyTracingTests",
            dependencies: [
                "NotifyTracing",
                "TestServers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NotifyCoreTests",
            dependencies: ["NotifyCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NotifyStoreTests",
            dependencies: [
                "NotifyCore",
                "NotifyStore",
                "NotifyStorePostgres",
                "NotifyStoreSQLite",
                "TestServers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "AICCSimulator",
                "Kafka",
                "NotifyCore",
                "TestServers",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
