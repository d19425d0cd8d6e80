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
///
/// Written over bytes: every callback URL and every status report goes
/// through it, and Foundation's base64 plus three `replacingOccurrences` per
/// part cost ~2.4 % of the worker's CPU in scenario f (BENCHMARKS.md).
/// `CallbackURLSignerTests` holds it to Foundation's encoding.
enum Base64URL {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
            output.append(alphabet[Int(chunk & 63)])
            index += 3
        }
        switch bytes.count - index {
        case 1:
            let chunk = UInt32(bytes[index]) << 16
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
        case 2:
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
        default:
            break
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func isAlphabet(_ byte: UInt8) -> Bool {
        value(of: byte) != nil
    }

    private static func value(of byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(byte - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }

    /// The bytes, or `nil` when `text` holds a character outside the
    /// alphabet, has a length no encoding has (4n + 1), or leaves bits set
    /// past its last byte. That last check is stricter than Foundation's
    /// `Data(base64Encoded:)`, which reads "AB==" as one byte: every part
    /// this signer writes is canonical, so only a hand-made URL is refused,
    /// as a MAC that does not verify.
    static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var chunk: UInt32 = 0
        var count = 0
        for byte in text.utf8 {
            guard let value = value(of: byte) else { return nil }
            chunk = chunk << 6 | value
            count += 1
            if count == 4 {
                output.append(UInt8(chunk >> 16 & 0xFF))
                output.append(UInt8(chunk >> 8 & 0xFF))
                output.append(UInt8(chunk & 0xFF))
                chunk = 0
                count = 0
            }
        }
        switch count {
        case 0:
            break
        case 2:
            guard chunk & 0xF == 0 else { return nil }
            output.append(UInt8(chunk >> 4 & 0xFF))
        case 3:
            guard chunk & 0x3 == 0 else { return nil }
            output.append(UInt8(chunk >> 10 & 0xFF))
            output.append(UInt8(chunk >> 2 & 0xFF))
        default:
            return nil
        }
        return output
    }
}
