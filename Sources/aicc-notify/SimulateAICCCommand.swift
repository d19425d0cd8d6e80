import AICCWire
import AICCSimulator
import ArgumentParser
import Foundation
import Logging

/// `aicc-notify simulate-aicc`: the AICC simulator, standalone. Prints its base URL on
/// the first line of stdout, serves until SIGTERM/SIGINT, exits 0.
struct SimulateAICCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate-aicc",
        abstract: "Run the Huawei AICC simulator (tokenByAkSk, createVoiceNotification, status reports).",
        discussion: """
            Prints its base URL (http://HOST:PORT) on the first line of stdout and serves until \
            SIGTERM or SIGINT. Control endpoints: GET /_sim/calls, GET /_sim/stats, POST /_sim/reset, \
            POST /_sim/config (JSON patch of the knobs), POST /_sim/revoke-tokens.
            """
    )

    @Option(help: "Port to listen on; 0 picks a free port.")
    var port: Int = 0

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "App key tokenByAkSk accepts (and X-APP-Key must carry).")
    var appKey: String = "sim-app-key"

    @Option(help: "App secret tokenByAkSk accepts.")
    var appSecret: String = "sim-app-secret"

    @Option(help: "Fixed delay before each createVoiceNotification answer, in milliseconds.")
    var latencyMs: Int = 0

    @Option(help: "Extra uniform random delay 0...N ms added to the latency.")
    var jitterMs: Int = 0

    @Option(help: "Rate (0...1) of valid calls answered HTTP 500.")
    var http500Rate: Double = 0

    @Option(help: "Rate (0...1) of valid calls answered retCode 1 (task in progress).")
    var retcode1Rate: Double = 0

    @Option(help: "Rate (0...1) of valid calls answered retCode 3 (creation failed).")
    var retcode3Rate: Double = 0

    @Option(help: "Rate (0...1) of valid calls held without an answer (the client times out).")
    var hangRate: Double = 0

    @Option(help: "How long a hung call is held before answering 500, in milliseconds.")
    var hangMs: Int = 60_000

    @Option(help: "Rate (0...1) of valid calls whose connection is closed without an answer.")
    var dropRate: Double = 0

    @Option(help: "Lifetime of issued tokens in seconds (default: what X-Token-Expire asks).")
    var tokenLifetime: Double?

    @Option(help: "More calls in flight than this get retCode 1 (default: no limit).")
    var maxConcurrent: Int?

    @Option(help: "Start with an outage of this many seconds (every request answers 500).")
    var outageSeconds: Double?

    @Option(help: "What an outage takes down: all (both endpoints) or create (createVoiceNotification only; tokenByAkSk answers).")
    var outageScope: String = "all"

    @Option(help: "Delay before posting the release event of an accepted call, in milliseconds.")
    var callbackDelayMs: Int = 0

    @Option(help: "Callback shared key (>= 16 characters): sign status reports with it.")
    var sharedKey: String?

    @Option(help: "Signature digest: hmac-sha256 or sha256.")
    var signatureAlgorithm: String = "hmac-sha256"

    @Option(help: "Unit of the report timestamp: milliseconds or seconds.")
    var timestampUnit: String = "milliseconds"

    @Option(help: "releaseReason of status reports: a number (0,1,4,6,8,9,10,999) or 'cycle' for all in turn.")
    var releaseReason: String = "1"

    @Option(name: .customLong("release-reason-for"), help: ArgumentHelp(
        "releaseReason of every report of calls to one number, NUMBER=REASON (repeatable); wins over the --release-reason policy for that number.",
        valueName: "number=reason"))
    var releaseReasonFor: [String] = []

    @Option(help: ArgumentHelp(
        "A number whose calls ring out unanswered (releaseReason 4), repeatable: the same as --release-reason-for NUMBER=4 for it.",
        valueName: "number"))
    var unanswered: [String] = []

    @Option(help: "Extra copies of each status report to post.")
    var duplicates: Int = 0

    @Option(help: "Seed of the random generator (faults, jitter, serials, nonces).")
    var seed: UInt64?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.host = self.host
        configuration.port = self.port
        configuration.appKey = self.appKey
        configuration.appSecret = self.appSecret
        configuration.latency = .milliseconds(self.latencyMs)
        configuration.jitter = .milliseconds(self.jitterMs)
        configuration.faults = .init(http500: self.http500Rate, retCode1: self.retcode1Rate, retCode3: self.retcode3Rate, hang: self.hangRate, drop: self.dropRate)
        configuration.hangDuration = .milliseconds(self.hangMs)
        configuration.tokenLifetime = self.tokenLifetime.map { .milliseconds(Int64($0 * 1000)) }
        configuration.maxConcurrentCalls = self.maxConcurrent
        guard let scope = AICCSimulator.OutageScope(rawValue: self.outageScope) else {
            throw ValidationError("--outage-scope must be all or create")
        }
        configuration.outageScope = scope
        configuration.seed = self.seed
        configuration.callback.delay = .milliseconds(self.callbackDelayMs)
        configuration.callback.sharedKey = self.sharedKey
        configuration.callback.duplicates = self.duplicates
        guard let algorithm = CallbackSignature.Algorithm(rawValue: self.signatureAlgorithm) else {
            throw ValidationError("--signature-algorithm must be hmac-sha256 or sha256")
        }
        configuration.callback.signatureAlgorithm = algorithm
        guard let unit = CallbackSignature.TimestampUnit(rawValue: self.timestampUnit) else {
            throw ValidationError("--timestamp-unit must be milliseconds or seconds")
        }
        configuration.callback.timestampUnit = unit
        if self.releaseReason == "cycle" {
            configuration.callback.releaseReason = .allDocumented
        } else if let reason = Int(self.releaseReason) {
            configuration.callback.releaseReason = .fixed(reason)
        } else {
            throw ValidationError("--release-reason must be a number or 'cycle'")
        }
        for number in self.unanswered { configuration.callback.releaseReasonByNumber[number] = 4 }
        for entry in self.releaseReasonFor {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let reason = Int(parts[1]) else {
                throw ValidationError("--release-reason-for must be NUMBER=REASON (e.g. +8613800000001=4)")
            }
            configuration.callback.releaseReasonByNumber[parts[0]] = reason
        }
        let rates = [self.http500Rate, self.retcode1Rate, self.retcode3Rate, self.hangRate, self.dropRate]
        guard rates.allSatisfy({ (0...1).contains($0) }), rates.reduce(0, +) <= 1 else {
            throw ValidationError("fault rates must be within 0...1 and sum to at most 1")
        }
        guard let level = Logger.Level(rawValue: self.logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }

        var logger = Logger(label: "aicc-simulator") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        let simulator = AICCSimulator(configuration: configuration, logger: logger)
        if let outageSeconds = self.outageSeconds, outageSeconds > 0 {
            simulator.outage(for: .milliseconds(Int64(outageSeconds * 1000)))
        }
        try await simulator.serveUntilSignalled { url in
            print(url)
            fflush(nil)
        }
    }
}
