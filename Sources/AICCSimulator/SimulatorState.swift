import Foundation

/// Everything the simulator remembers, behind one lock (``AICCSimulator/state``).
struct SimulatorState {
    struct IssuedToken {
        var appKey: String
        var expiresAt: ContinuousClock.Instant
    }

    struct TargetKey: Hashable {
        var called: String
        var voiceContent: String
    }

    var configuration: AICCSimulator.Configuration
    var random: SeededGenerator
    var calls: [RecordedCall] = []
    var tokens: [String: IssuedToken] = [:]
    var stats = SimulatorStats()
    var targets: [TargetKey: SimulatorStats.Target] = [:]
    var outageUntil: ContinuousClock.Instant?
    var serialCounter: UInt64 = 0
    var releaseReasonIndex = 0

    init(configuration: AICCSimulator.Configuration) {
        self.configuration = configuration
        self.random = SeededGenerator(seed: configuration.seed ?? UInt64.random(in: .min ... .max))
    }

    mutating func isInOutage(now: ContinuousClock.Instant) -> Bool {
        guard let until = self.outageUntil else { return false }
        if now < until { return true }
        self.outageUntil = nil
        return false
    }

    mutating func record(_ call: RecordedCall) {
        self.calls.append(call)
        self.stats.totalCalls += 1
        let accepted = call.callSerialNo != nil
        if accepted { self.stats.accepted += 1 }
        if let called = call.called, let voiceContent = call.voiceContent {
            let key = TargetKey(called: called, voiceContent: voiceContent)
            var target = self.targets[key] ?? .init(called: called, voiceContent: voiceContent, calls: 0, accepted: 0)
            target.calls += 1
            if accepted { target.accepted += 1 }
            self.targets[key] = target
        }
    }

    func snapshotStats() -> SimulatorStats {
        var stats = self.stats
        stats.targets = self.targets.values.sorted { ($0.called, $0.voiceContent) < ($1.called, $1.voiceContent) }
        return stats
    }

    mutating func reset() {
        let inFlight = self.stats.inFlight
        self.calls = []
        self.stats = SimulatorStats()
        self.stats.inFlight = inFlight
        self.stats.maxConcurrencySeen = inFlight
        self.targets = [:]
        self.outageUntil = nil
        self.releaseReasonIndex = 0
    }

    mutating func uniform() -> Double {
        Double(self.random.next() >> 11) * 0x1.0p-53
    }

    mutating func hex(bytes: Int) -> String {
        var text = ""
        for _ in 0..<bytes {
            let byte = UInt8(truncatingIfNeeded: self.random.next())
            text += String(byte, radix: 16).leftPadded(to: 2)
        }
        return text
    }

    mutating func nextSerial() -> String {
        self.serialCounter += 1
        // 18 digits, like AICC's serials: a fixed prefix, a random middle, a counter.
        let middle = self.random.next() % 1_000_000
        return "1182" + String(middle).leftPadded(to: 6) + String(self.serialCounter).leftPadded(to: 8)
    }

    mutating func nextReleaseReason(called: String?) -> Int {
        if let called, let reason = self.configuration.callback.releaseReasonByNumber[called] { return reason }
        switch self.configuration.callback.releaseReason {
        case .fixed(let reason):
            return reason
        case .cycle(let reasons):
            guard !reasons.isEmpty else { return 1 }
            defer { self.releaseReasonIndex += 1 }
            return reasons[self.releaseReasonIndex % reasons.count]
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}
