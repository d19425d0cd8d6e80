import Foundation
import Testing
@testable import NotifyHTTP

/// The callback URL's base64url, written over bytes, against Foundation's
/// base64 with the RFC 4648 §5 substitutions (what it replaced), and the
/// signer's round trip.
@Suite("Callback URLs: base64url and signatures")
struct CallbackURLSignerTests {
    private static func foundationBase64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @Test("Every length 0…96 and random bytes encode as Foundation's base64 with - _ and no padding, and decode back")
    func encodesAsFoundation() {
        var generator = SplitMix64(seed: 0xBA5E_64)
        for length in 0...96 {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let encoded = Base64URL.encode(bytes)
                #expect(encoded == Self.foundationBase64URL(bytes), "\(bytes)")
                #expect(Base64URL.decode(encoded) == bytes, "\(encoded)")
            }
        }
        // Every alphabet character appears at every position of a group.
        let all = (0...255).map(UInt8.init)
        #expect(Base64URL.encode(all) == Self.foundationBase64URL(all))
        #expect(Base64URL.decode(Base64URL.encode(all)) == all)
    }

    @Test("Decoding refuses characters outside the alphabet, impossible lengths and stray bits after the last byte")
    func refusesMalformed() {
        #expect(Base64URL.decode("") == [])
        #expect(Base64URL.decode("AA") == [0])
        #expect(Base64URL.decode("AAA") == [0, 0])
        for bad in ["A", "AAAAA", "AB", "AAB", "ab+c", "ab/c", "abc=", "ab c", "ä123", "AAAA\n"] {
            #expect(Base64URL.decode(bad) == nil, "\(bad)")
        }
    }

    @Test("A URL's parts verify to its identity; another secret, a changed part or a short MAC do not")
    func signsAndVerifies() throws {
        let signer = CallbackURLSigner(publicBaseURL: "https://notify.example.com//", secret: "a-secret-of-32-characters-or-so!")
        let identity = CallbackIdentity(idempotencyKey: "alertmanager/grp:{a=\"1\"}", requestId: "req-ü-0001")
        let url = signer.url(for: identity)
        #expect(url.hasPrefix("https://notify.example.com/aicc/callback/v1/"))
        let parts = url.dropFirst("https://notify.example.com/aicc/callback/v1/".count).split(separator: "/").map(String.init)
        try #require(parts.count == 3)
        #expect(parts.allSatisfy { $0.utf8.allSatisfy(Base64URL.isAlphabet) })
        #expect(signer.verify(key: parts[0], request: parts[1], mac: parts[2]) == identity)

        let other = CallbackURLSigner(publicBaseURL: "https://notify.example.com", secret: "another-secret-of-32-characters!")
        #expect(other.verify(key: parts[0], request: parts[1], mac: parts[2]) == nil)
        #expect(signer.verify(key: parts[1], request: parts[0], mac: parts[2]) == nil)
        #expect(signer.verify(key: parts[0], request: parts[1], mac: String(parts[2].dropLast(2))) == nil)
        var flipped = Array(parts[2].utf8)
        flipped[0] = flipped[0] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(signer.verify(key: parts[0], request: parts[1], mac: String(decoding: flipped, as: UTF8.self)) == nil)
    }
}
