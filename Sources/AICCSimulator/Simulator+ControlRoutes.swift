public import AICCWire
import Foundation
import Hummingbird

/// A partial configuration for `POST /_sim/config`: every field is optional; those
/// given replace the current values. Durations are in milliseconds or seconds as named.
public struct SimulatorConfigurationPatch: Sendable, Codable, Hashable {
    public var latencyMs: Int?
    public var jitterMs: Int?
    public var faults: AICCSimulator.FaultRates?
    public var hangMs: Int?
    public var maxConcurrentCalls: Int?
    /// Seconds; 0 removes the override (tokens live as long as `X-Token-Expire` asks).
    public var tokenLifetimeSeconds: Double?
    public var outageSeconds: Double?
    public var outageAnswer: AICCSimulator.OutageAnswer?
    public var outageScope: AICCSimulator.OutageScope?
    public var callbackDelayMs: Int?
    public var sharedKey: String?
    public var signatureAlgorithm: CallbackSignature.Algorithm?
    public var timestampUnit: CallbackSignature.TimestampUnit?
    /// A fixed reason, e.g. `1`.
    public var releaseReason: Int?
    /// A list to cycle through, e.g. `[0,1,4,6,8,9,10,999]`.
    public var releaseReasonCycle: [Int]?
    /// Reasons per called number, e.g. `{"+8613800000001": 4}`: replaces the list.
    public var releaseReasonByNumber: [String: Int]?
    public var duplicates: Int?
    public var seed: UInt64?

    public init() {}

    /// Applies the fields that are set.
    public func apply(to configuration: inout AICCSimulator.Configuration) {
        if let latencyMs { configuration.latency = .milliseconds(latencyMs) }
        if let jitterMs { configuration.jitter = .milliseconds(jitterMs) }
        if let faults { configuration.faults = faults }
        if let hangMs { configuration.hangDuration = .milliseconds(hangMs) }
        if let maxConcurrentCalls { configuration.maxConcurrentCalls = maxConcurrentCalls > 0 ? maxConcurrentCalls : nil }
        if let tokenLifetimeSeconds { configuration.tokenLifetime = tokenLifetimeSeconds > 0 ? .milliseconds(Int64(tokenLifetimeSeconds * 1000)) : nil }
        if let outageAnswer { configuration.outageAnswer = outageAnswer }
        if let outageScope { configuration.outageScope = outageScope }
        if let callbackDelayMs { configuration.callback.delay = .milliseconds(callbackDelayMs) }
        if let sharedKey { configuration.callback.sharedKey = sharedKey.isEmpty ? nil : sharedKey }
        if let signatureAlgorithm { configuration.callback.signatureAlgorithm = signatureAlgorithm }
        if let timestampUnit { configuration.callback.timestampUnit = timestampUnit }
        if let releaseReason { configuration.callback.releaseReason = .fixed(releaseReason) }
        if let releaseReasonCycle { configuration.callback.releaseReason = .cycle(releaseReasonCycle) }
        if let releaseReasonByNumber { configuration.callback.releaseReasonByNumber = releaseReasonByNumber }
        if let duplicates { configuration.callback.duplicates = max(0, duplicates) }
        if let seed { configuration.seed = seed }
    }
}

extension AICCSimulator {
    func addControlRoutes(to router: Router<SimulatorRequestContext>) {
        router.get("/_sim/calls") { _, _ in
            JSONResponse.make(encoding: self.calls)
        }
        router.get("/_sim/stats") { _, _ in
            JSONResponse.make(encoding: self.stats)
        }
        router.post("/_sim/reset") { _, _ in
            self.reset()
            return JSONResponse.make(encoding: self.stats)
        }
        router.post("/_sim/revoke-tokens") { _, _ in
            self.revokeTokens()
            return JSONResponse.empty(status: 204)
        }
        router.post("/_sim/config") { request, _ in
            var request = request
            let buffer = try await request.collectBody(upTo: Self.maxBodySize)
            guard let patch = try? JSONDecoder().decode(SimulatorConfigurationPatch.self, from: Data(buffer.readableBytesView)) else {
                return Self.error(400, "body must be a SimulatorConfigurationPatch JSON object")
            }
            self.configure { patch.apply(to: &$0) }
            if let seconds = patch.outageSeconds {
                if seconds > 0 { self.outage(for: .milliseconds(Int64(seconds * 1000))) } else { self.endOutage() }
            }
            return JSONResponse.empty(status: 204)
        }
    }
}
