import Foundation
import NotifyWorker
import Testing

/// The required keys, as environment variables.
private let required: [String: String] = [
    "AICC_NOTIFY_AICC_BASE_URL": "https://service.besclouds.com",
    "AICC_NOTIFY_AICC_APP_KEY": "app-key",
    "AICC_NOTIFY_AICC_APP_SECRET": "s3cr3t-value",
]

private func temporaryFile(_ name: String, _ contents: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aicc-notify-config-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let url = directory.appendingPathComponent(name)
    try contents.write(to: url, atomically: true, encoding: .utf8)
    return url.path
}

private func expectError(_ key: String?, code: String, file: String? = nil, _ environment: [String: String]) async {
    do {
        let configuration = try await WorkerConfiguration.load(configFile: file, environment: environment)
        Issue.record("loaded although invalid: \(configuration.kafka.bootstrapServers)")
    } catch {
        #expect(error.code == code, "\(error)")
        #expect(error.key == key, "\(error)")
        #expect(!error.description.contains("s3cr3t-value"), "a secret leaked into the message")
    }
}

@Suite("Worker configuration: file + AICC_NOTIFY_* environment (product.md §6)")
struct ConfigurationTests {
    @Test("Defaults are the documented ones")
    func defaults() async throws {
        let configuration = try await WorkerConfiguration.load(configFile: nil, environment: required)
        #expect(configuration.kafka.bootstrapServers == "localhost:9092")
        #expect(configuration.kafka.groupID == "aicc-notify")
        #expect(configuration.kafka.autoOffsetReset == .earliest)
        #expect(configuration.kafka.topics.requests == "notification.requests")
        #expect(configuration.kafka.topics.results == "notification.results")
        #expect(configuration.kafka.topics.callbacks == "notification.callbacks")
        #expect(configuration.kafka.topics.deadLetter == "notification.requests.dlq")
        #expect(configuration.kafka.properties.isEmpty)
        #expect(configuration.aicc.tokenLifetime == 3600)
        #expect(configuration.aicc.timeout == 10)
        #expect(configuration.aicc.maxConcurrency == 64)
        #expect(configuration.aicc.callsPerSecond == 50)
        #expect(configuration.retry.maxAttempts == 8)
        #expect(configuration.retry.initialBackoff == 1)
        #expect(configuration.retry.maxBackoff == 60)
        #expect(configuration.dispatch.maxInFlight == 1024)
        #expect(configuration.dispatch.inDoubtPolicy == .report)
        #expect(configuration.store.url == "sqlite:aicc-notify.db")
        #expect(configuration.store.retention == 604_800)
        #expect(configuration.http.host == "0.0.0.0")
        #expect(configuration.http.port == 8080)
        #expect(configuration.callback.publicBaseURL == nil)
        #expect(!configuration.callback.isEnabled)
        #expect(configuration.log.level == .info)
        #expect(configuration.log.format == .text)
    }

    @Test("Environment variable names: prefix, dots and camel-case humps as underscores")
    func variableNames() {
        #expect(WorkerConfiguration.environmentVariable(for: "kafka.bootstrapServers") == "AICC_NOTIFY_KAFKA_BOOTSTRAP_SERVERS")
        #expect(WorkerConfiguration.environmentVariable(for: "aicc.baseURL") == "AICC_NOTIFY_AICC_BASE_URL")
        #expect(WorkerConfiguration.environmentVariable(for: "kafka.topics.deadLetter") == "AICC_NOTIFY_KAFKA_TOPICS_DEAD_LETTER")
        #expect(WorkerConfiguration.environmentVariable(for: "callback.publicBaseURL") == "AICC_NOTIFY_CALLBACK_PUBLIC_BASE_URL")
    }

    @Test("A JSON file is read and the environment overrides it", arguments: ["json", "yaml"])
    func fileAndOverride(format: String) async throws {
        let file: String
        if format == "json" {
            file = try temporaryFile("config.json", """
                {"kafka": {"bootstrapServers": "k1:9092,k2:9092", "groupId": "from-file",
                           "topics": {"deadLetter": "dlq.file"},
                           "properties": {"session.timeout.ms": 6000, "security.protocol": "SASL_SSL"}},
                 "aicc": {"baseURL": "https://aicc.example", "appKey": "k", "appSecret": "from-file-secret", "timeout": 2.5, "maxConcurrency": 8},
                 "retry": {"initialBackoff": 0.2, "maxBackoff": 5},
                 "dispatch": {"inDoubtPolicy": "retry"},
                 "http": {"listen": "127.0.0.1:9000"},
                 "callback": {"publicBaseURL": "https://hooks.example/aicc", "secret": "0123456789abcdef"},
                 "log": {"level": "debug", "format": "json"}}
                """)
        } else {
            file = try temporaryFile("config.yaml", """
                kafka:
                  bootstrapServers: "k1:9092,k2:9092"
                  groupId: from-file
                  topics:
                    deadLetter: dlq.file
                  properties:
                    session.timeout.ms: 6000
                    security.protocol: SASL_SSL
                aicc:
                  baseURL: https://aicc.example
                  appKey: k
                  appSecret: from-file-secret
                  timeout: 2.5
                  maxConcurrency: 8
                retry:
                  initialBackoff: 0.2
                  maxBackoff: 5
                dispatch:
                  inDoubtPolicy: retry
                http:
                  listen: "127.0.0.1:9000"
                callback:
                  publicBaseURL: https://hooks.example/aicc
                  secret: 0123456789abcdef
                log:
                  level: debug
                  format: json
                """)
        }
        let configuration = try await WorkerConfiguration.load(configFile: file, environment: [
            "AICC_NOTIFY_KAFKA_GROUP_ID": "from-env",
            "AICC_NOTIFY_AICC_MAX_CONCURRENCY": "16",
            "AICC_NOTIFY_KAFKA_PROPERTIES": "debug=cgrp,topic,session.timeout.ms=7000",
            "UNRELATED_VARIABLE": "ignored",
        ])
        #expect(configuration.kafka.bootstrapServers == "k1:9092,k2:9092")
        #expect(configuration.kafka.groupID == "from-env")
        #expect(configuration.kafka.topics.deadLetter == "dlq.file")
        #expect(configuration.kafka.topics.requests == "notification.requests")
        #expect(configuration.kafka.properties == ["session.timeout.ms": "7000", "security.protocol": "SASL_SSL", "debug": "cgrp,topic"])
        #expect(configuration.aicc.baseURL == "https://aicc.example")
        #expect(configuration.aicc.appSecret == "from-file-secret")
        #expect(configuration.aicc.timeout == 2.5)
        #expect(configuration.aicc.maxConcurrency == 16)
        #expect(configuration.retry.initialBackoff == 0.2)
        #expect(configuration.retry.maxBackoff == 5)
        #expect(configuration.dispatch.inDoubtPolicy == .retry)
        #expect(configuration.http.host == "127.0.0.1")
        #expect(configuration.http.port == 9000)
        #expect(configuration.callback.isEnabled)
        #expect(configuration.log.level == .debug)
        #expect(configuration.log.format == .json)
    }

    /// Issue #27: `kafka.cloudEvents.types` (unset: any type) as a list in
    /// a file or `a,b` in the environment; `routing.keySecret` as a secret
    /// (`_FILE` allowed, at least 16 characters), never shown.
    @Test("CloudEvent types restrict as a list; routing.keySecret is a secret", arguments: ["json", "yaml"])
    func cloudEventTypesAndTheKeySecret(format: String) async throws {
        let defaults = try await WorkerConfiguration.load(configFile: nil, environment: required)
        #expect(defaults.kafka.cloudEventTypes == nil)
        #expect(defaults.routing.keySecret == nil)
        let file = format == "json"
            ? try temporaryFile("config.json", #"{"kafka": {"cloudEvents": {"types": ["com.example.page", "com.example.request"]}}}"#)
            : try temporaryFile("config.yaml", "kafka:\n  cloudEvents:\n    types: [com.example.page, com.example.request]\n")
        let fromFile = try await WorkerConfiguration.load(configFile: file, environment: required)
        #expect(fromFile.kafka.cloudEventTypes == ["com.example.page", "com.example.request"])
        var environment = required
        environment["AICC_NOTIFY_KAFKA_CLOUD_EVENTS_TYPES"] = "com.example.page, com.example.other"
        let secretFile = try temporaryFile("routing-key-secret", "a-routing-key-secret-0123456789\n")
        environment["AICC_NOTIFY_ROUTING_KEY_SECRET_FILE"] = secretFile
        let fromEnvironment = try await WorkerConfiguration.load(configFile: file, environment: environment)
        #expect(fromEnvironment.kafka.cloudEventTypes == ["com.example.page", "com.example.other"])
        #expect(fromEnvironment.routing.keySecret == "a-routing-key-secret-0123456789")
        #expect(!"\(fromEnvironment)".contains("a-routing-key-secret"))

        environment["AICC_NOTIFY_KAFKA_CLOUD_EVENTS_TYPES"] = "com.example.page,,x"
        await expectError("kafka.cloudEvents.types", code: "config.invalid", environment)
        environment["AICC_NOTIFY_KAFKA_CLOUD_EVENTS_TYPES"] = nil
        environment["AICC_NOTIFY_ROUTING_KEY_SECRET_FILE"] = nil
        environment["AICC_NOTIFY_ROUTING_KEY_SECRET"] = "short"
        await expectError("routing.keySecret", code: "config.invalid", environment)
    }

    @Test("A secret can come from the file named by …_FILE")
    func secretFromFile() async throws {
        let secretFile = try temporaryFile("app-secret", "from-a-file\n")
        var environment = required
        environment["AICC_NOTIFY_AICC_APP_SECRET"] = nil
        environment["AICC_NOTIFY_AICC_APP_SECRET_FILE"] = secretFile
        let configuration = try await WorkerConfiguration.load(configFile: nil, environment: environment)
        #expect(configuration.aicc.appSecret == "from-a-file")

        environment["AICC_NOTIFY_AICC_APP_SECRET"] = "s3cr3t-value"
        await expectError(nil, code: "config.invalid", environment)
        environment["AICC_NOTIFY_AICC_APP_SECRET"] = nil
        environment["AICC_NOTIFY_AICC_APP_SECRET_FILE"] = "/nonexistent/secret"
        await expectError(nil, code: "config.file", environment)
    }

    @Test("Invalid or missing values stop the load with the key named", arguments: [
        ("AICC_NOTIFY_AICC_TIMEOUT", "abc", "aicc.timeout"),
        ("AICC_NOTIFY_AICC_TIMEOUT", "0", "aicc.timeout"),
        ("AICC_NOTIFY_AICC_TOKEN_LIFETIME", "7200", "aicc.tokenLifetime"),
        ("AICC_NOTIFY_AICC_MAX_CONCURRENCY", "many", "aicc.maxConcurrency"),
        ("AICC_NOTIFY_AICC_BASE_URL", "not a url", "aicc.baseURL"),
        ("AICC_NOTIFY_RETRY_MAX_ATTEMPTS", "0", "retry.maxAttempts"),
        ("AICC_NOTIFY_RETRY_MAX_BACKOFF", "0.5", "retry.maxBackoff"),
        ("AICC_NOTIFY_DISPATCH_IN_DOUBT_POLICY", "maybe", "dispatch.inDoubtPolicy"),
        ("AICC_NOTIFY_KAFKA_AUTO_OFFSET_RESET", "middle", "kafka.autoOffsetReset"),
        ("AICC_NOTIFY_KAFKA_GROUP_ID", "", "kafka.groupId"),
        ("AICC_NOTIFY_KAFKA_PROPERTIES", "=1", "kafka.properties"),
        ("AICC_NOTIFY_STORE_URL", "mysql://x", "store.url"),
        ("AICC_NOTIFY_STORE_RETENTION", "-1", "store.retention"),
        ("AICC_NOTIFY_HTTP_LISTEN", "8080", "http.listen"),
        ("AICC_NOTIFY_CALLBACK_PUBLIC_BASE_URL", "https://hooks.example/a b", "callback.publicBaseURL"),
        ("AICC_NOTIFY_CALLBACK_PUBLIC_BASE_URL", "https://hooks.example/aicc", "callback.secret"),
        ("AICC_NOTIFY_CALLBACK_SHARED_KEY", "short", "callback.sharedKey"),
        ("AICC_NOTIFY_LOG_LEVEL", "loud", "log.level"),
    ] as [(String, String, String)])
    func invalid(variable: String, value: String, key: String) async {
        var environment = required
        environment[variable] = value
        await expectError(key, code: key == "callback.secret" ? "config.missing" : "config.invalid", environment)
    }

    @Test("A missing required key is named with its variable", arguments: ["aicc.baseURL", "aicc.appKey", "aicc.appSecret"])
    func missing(key: String) async throws {
        var environment = required
        environment[WorkerConfiguration.environmentVariable(for: key)] = nil
        do {
            _ = try await WorkerConfiguration.load(configFile: nil, environment: environment)
            Issue.record("loaded without \(key)")
        } catch {
            #expect(error.code == "config.missing")
            #expect(error.key == key)
            #expect(error.description.contains(WorkerConfiguration.environmentVariable(for: key)))
        }
    }

    @Test("A bad config file is refused clearly")
    func badFiles() async throws {
        await expectError(nil, code: "config.file", file: "/nonexistent/config.json", required)
        await expectError(nil, code: "config.file", file: try temporaryFile("config.toml", "a = 1"), required)
        await expectError(nil, code: "config.file", file: try temporaryFile("config.json", "{not json"), required)
        await expectError(nil, code: "config.file", file: try temporaryFile("config.yaml", "- a list\n- at the top"), required)
        await expectError("aicc.timeout", code: "config.invalid", file: try temporaryFile("config.json", #"{"aicc": {"timeout": "soon"}}"#), required)
        await expectError("kafka.properties", code: "config.invalid", file: try temporaryFile("config.json", #"{"kafka": {"properties": ["a=b"]}}"#), required)
    }
}

@Suite("Configuration mistakes are errors, not defaults")
struct ConfigurationMistakeTests {
    private func failure(file: String? = nil, _ environment: [String: String]) async -> ConfigurationError? {
        do {
            _ = try await WorkerConfiguration.load(configFile: file, environment: environment)
            return nil
        } catch {
            return error
        }
    }

    @Test("Unknown keys in the file and unknown variables name the nearest known key, all at once", arguments: ["yaml", "json"])
    func unknownKeys(format: String) async throws {
        let contents = format == "yaml"
            ? "aicc:\n  maxConcurency: 3\nlog:\n  levl: debug\nloglevel: debug\nkafka:\n  properties:\n    any.librdkafka.name: 1\n"
            : #"{"aicc": {"maxConcurency": 3}, "log": {"levl": "debug"}, "loglevel": "debug", "kafka": {"properties": {"any.librdkafka.name": 1}}}"#
        let file = try temporaryFile("config.\(format)", contents)
        var environment = required
        environment["AICC_NOTIFY_AICC_TIMOUT"] = "3"
        let error = try #require(await failure(file: file, environment))
        #expect(error.code == "config.unknown")
        let message = error.description
        #expect(message.contains("unknown key 'aicc.maxConcurency'") && message.contains("'aicc.maxConcurrency'"), "\(message)")
        #expect(message.contains("unknown key 'log.levl'") && message.contains("'log.level'"), "\(message)")
        #expect(message.contains("unknown key 'loglevel'"), "\(message)")
        #expect(message.contains("AICC_NOTIFY_AICC_TIMOUT") && message.contains("AICC_NOTIFY_AICC_TIMEOUT"), "\(message)")
        // kafka.properties is librdkafka's namespace, not ours.
        #expect(!message.contains("any.librdkafka.name"))
    }

    @Test("A _FILE variable of an unknown key is unknown too; known ones pass")
    func fileVariables() async throws {
        let secret = try temporaryFile("secret", "s3cr3t-value\n")
        var environment = required
        environment["AICC_NOTIFY_AICC_APP_SECRET"] = nil
        environment["AICC_NOTIFY_AICC_APP_SECRET_FILE"] = secret
        _ = try await WorkerConfiguration.load(configFile: nil, environment: environment)
        environment["AICC_NOTIFY_AICC_APP_SECERT_FILE"] = secret
        let error = try #require(await failure(environment))
        #expect(error.code == "config.unknown")
        #expect(error.description.contains("AICC_NOTIFY_AICC_APP_SECERT"))
        #expect(!error.description.contains("s3cr3t-value"))
    }

    @Test("Every missing required key is reported at once")
    func everyMissingKey() async throws {
        let error = try #require(await failure([:]))
        #expect(error.code == "config.missing")
        for key in ["aicc.baseURL", "aicc.appKey", "aicc.appSecret"] {
            #expect(error.description.contains(key) && error.description.contains(WorkerConfiguration.environmentVariable(for: key)))
        }
    }

    @Test("A JSON syntax error names line and column; a duplicate key its path")
    func jsonSyntax() async throws {
        let file = try temporaryFile("config.json", "{\n  \"aicc\": {\n    \"baseURL\": \"https://x\",\n  }\n}\n")
        let error = try #require(await failure(file: file, required))
        #expect(error.code == "config.file")
        #expect(error.description.contains("line 4, column 3"), "\(error)")
        let duplicate = try temporaryFile("config.json", #"{"log": {"level": "info", "level": "debug"}}"#)
        let second = try #require(await failure(file: duplicate, required))
        #expect(second.description.contains("log.level"), "\(second)")
    }

    @Test("A librdkafka property it rejects is named, its value never shown")
    func rejectedKafkaProperty() async throws {
        var environment = required
        environment["AICC_NOTIFY_KAFKA_PROPERTIES"] = "security.protocol=bogus-planted"
        let error = try #require(await failure(environment))
        #expect(error.code == "config.invalid" && error.key == "kafka.properties")
        #expect(error.description.contains("'security.protocol'"))
        #expect(!error.description.contains("bogus-planted"), "\(error)")
        environment["AICC_NOTIFY_KAFKA_PROPERTIES"] = "no.such.property=1"
        #expect(try #require(await failure(environment)).description.contains("'no.such.property' is not a librdkafka property"))
    }

    @Test("No message repeats its key")
    func keyOnce() async throws {
        var environment = required
        environment["AICC_NOTIFY_AICC_TIMEOUT"] = "soon"
        let error = try #require(await failure(environment))
        #expect(error.description.components(separatedBy: "aicc.timeout").count == 2, "\(error)")
    }

    @Test("The README's configuration table lists exactly the known keys")
    func readmeAgrees() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "\n## Configuration").dropFirst().first?
            .components(separatedBy: "\n## ").first)
        var documented: Set<String> = []
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let cell = line.dropFirst(3).prefix { $0 != "`" }
            documented.insert(String(cell))
        }
        #expect(documented == Set(WorkerConfiguration.knownKeys),
                "README only: \(documented.subtracting(WorkerConfiguration.knownKeys)); code only: \(Set(WorkerConfiguration.knownKeys).subtracting(documented))")
    }
}
