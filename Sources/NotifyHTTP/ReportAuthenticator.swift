public import AICCWire
public import Foundation
import NIOConcurrencyHelpers

/// Checks the vendor's own signature on a status report (aicc-api.md §3) when
/// the tenant has a callback shared key (`callback.sharedKey`): the signature
/// over the other fields, a `timestamp` within the skew window (milliseconds
/// or seconds since the epoch, judged by magnitude), and a `nonce` not seen
/// within the window (a replay cache in memory, bounded).
public struct ReportAuthenticator: Sendable {
    /// Why a report was refused.
    public enum Refusal: String, Sendable, Hashable {
        /// `timestamp`, `nonce` or `signature` is missing.
        case unsigned = "callback.signature.missing"
        /// The signature does not verify.
        case badSignature = "callback.signature.invalid"
        /// The timestamp is outside the skew window (or not a number).
        case stale = "callback.timestamp.stale"
        /// The nonce was seen before within the window.
        case replayed = "callback.nonce.replayed"
    }

    /// The tenant's shared key.
    public let sharedKey: String
    /// The digest (default HMAC-SHA256; plain SHA-256 selectable, see `CallbackSignature`).
    public let algorithm: CallbackSignature.Algorithm
    /// How far a report's timestamp may be from now. Default 300 s.
    public let skew: Duration
    private let nonces: NonceCache

    public init(sharedKey: String, algorithm: CallbackSignature.Algorithm = .hmacSHA256, skew: Duration = .seconds(300)) {
        self.sharedKey = sharedKey
        self.algorithm = algorithm
        self.skew = skew
        self.nonces = NonceCache(capacity: 100_000)
    }

    /// `nil` when the report is authentic and fresh; else why not. A nonce is
    /// remembered only when everything else verified.

    /// Forgets the nonce of a report that passed ``check(_:now:)`` but could
    /// not be accepted (the event could not be published: the endpoint answers
    /// 503), so that AICC's retry of the very same report — same nonce, same
    /// signature — is not refused as a replay and its event is not lost.
    public func release(_ fields: [String: String]) {
        if let nonce = fields["nonce"], !nonce.isEmpty { self.nonces.remove(nonce) }
    }

    public func check(_ fields: [String: String], now: Date = Date()) -> Refusal? {
        guard let timestamp = fields["timestamp"], let nonce = fields["nonce"], let signature = fields["signature"],
              !nonce.isEmpty
        else { return .unsigned }
        let expected = CallbackSignature.sign(
            fields: fields, sharedKey: self.sharedKey, timestamp: timestamp, nonce: nonce, algorithm: self.algorithm)
        guard Self.constantTimeEqual(Array(expected.utf8), Array(signature.utf8)) else { return .badSignature }
        guard let value = Double(timestamp) else { return .stale }
        // Milliseconds since the epoch are > 10^11 for any date after 1973; seconds are not until 5138.
        let seconds = value > 100_000_000_000 ? value / 1000 : value
        let window = Double(self.skew.components.seconds)
        guard abs(now.timeIntervalSince1970 - seconds) <= window else { return .stale }
        guard self.nonces.insert(nonce, expiresAt: now.addingTimeInterval(window * 2)) else { return .replayed }
        return nil
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// Nonces seen recently; forgets them after their expiry, and the oldest when full.
final class NonceCache: Sendable {
    private struct State {
        var expiries: [String: Date] = [:]
        var order: [(String, Date)] = []
        var head = 0
    }

    private let capacity: Int
    private let state = NIOLockedValueBox(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Forgets `nonce` (its report was not accepted after all).
    func remove(_ nonce: String) {
        self.state.withLockedValue { state in state.expiries[nonce] = nil }
    }

    /// Remembers `nonce`; `false` when it is remembered already.
    func insert(_ nonce: String, expiresAt: Date) -> Bool {
        let now = Date()
        return self.state.withLockedValue { state in
            // Forget what expired (and the oldest when over capacity).
            while state.head < state.order.count,
                  state.order[state.head].1 <= now || state.expiries.count >= self.capacity {
                let (old, expiry) = state.order[state.head]
                if state.expiries[old] == expiry { state.expiries[old] = nil }
                state.head += 1
            }
            if state.head > 1024 && state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
            if let expiry = state.expiries[nonce], expiry > now { return false }
            state.expiries[nonce] = expiresAt
            state.order.append((nonce, expiresAt))
            return true
        }
    }
}
