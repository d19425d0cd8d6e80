import Crypto
import Foundation

/// Which request a callback URL belongs to.
public struct CallbackIdentity: Sendable, Hashable {
    /// The request's idempotency key.
    public var idempotencyKey: String
    /// The request's id.
    public var requestId: String

    public init(idempotencyKey: String, requestId: String) {
        self.idempotencyKey = idempotencyKey
        self.requestId = requestId
    }
}

/// Makes and checks the per-request callback URLs handed to AICC (product §5).
///
/// `{callback.publicBaseURL}/aicc/callback/v1/{key}/{request}/{mac}`, where
/// `key` and `request` are the idempotency key and request id in unpadded
/// base64url, and `mac` is the first 16 bytes of
/// HMAC-SHA256(`callback.secret`, `"aicc-notify.callback.v1\n" + key + "\n" + requestId`),
/// base64url too. Every character is one AICC allows (letters, digits, `-` and
/// `_`, plus the `/` between parts), and the URL cannot be guessed without the
/// secret. The MAC is compared in constant time.
public struct CallbackURLSigner: Sendable {
    /// The route under which reports arrive.
    public static let routePrefix = "/aicc/callback/v1"

    /// `callback.publicBaseURL` without a trailing `/`.
    public let publicBaseURL: String
    private let key: SymmetricKey

    /// - Parameters:
    ///   - publicBaseURL: What AICC can reach, e.g. `https://notify.example.com`.
    ///   - secret: `callback.secret` (≥ 16 characters).
    public init(publicBaseURL: String, secret: String) {
        var base = publicBaseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.publicBaseURL = base
        self.key = SymmetricKey(data: Data(secret.utf8))
    }

    /// The URL for one request.
    public func url(for identity: CallbackIdentity) -> String {
        self.publicBaseURL + Self.routePrefix + "/" + self.path(for: identity)
    }

    /// `{key}/{request}/{mac}`: the part after ``routePrefix``.
    public func path(for identity: CallbackIdentity) -> String {
        let key = Base64URL.encode(Array(identity.idempotencyKey.utf8))
        let request = Base64URL.encode(Array(identity.requestId.utf8))
        return "\(key)/\(request)/\(Base64URL.encode(self.mac(identity)))"
    }

    /// The identity the three path parts carry, or `nil` when they are
    /// malformed or the MAC does not verify.
    public func verify(key: String, request: String, mac: String) -> CallbackIdentity? {
        guard let keyBytes = Base64URL.decode(key), let requestBytes = Base64URL.decode(request),
              let macBytes = Base64URL.decode(mac), macBytes.count == 16,
              let idempotencyKey = String(validating: keyBytes, as: UTF8.self),
              let requestId = String(validating: requestBytes, as: UTF8.self)
        else { return nil }
        let identity = CallbackIdentity(idempotencyKey: idempotencyKey, requestId: requestId)
        let expected = self.mac(identity)
        var difference: UInt8 = 0
        for index in 0..<16 { difference |= expected[index] ^ macBytes[index] }
        return difference == 0 ? identity : nil
    }

    private func mac(_ identity: CallbackIdentity) -> [UInt8] {
        let message = Data("aicc-notify.callback.v1\n\(identity.idempotencyKey)\n\(identity.requestId)".utf8)
        return Array(Array(HMAC<SHA256>.authenticationCode(for: message, using: self.key)).prefix(16))
    }
}

/// Unpadded base64url (RFC 4648 §5): only letters, digits, `-` and `_`.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func isAlphabet(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    static func decode(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy(Self.isAlphabet) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}
