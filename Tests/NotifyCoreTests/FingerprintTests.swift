import Foundation
import NotifyCore
import Testing

@Suite struct FingerprintTests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func sha256MatchesFIPSVectors(message: String, digest: String) {
        #expect(SHA256Digest.hexDigest(message.utf8) == digest)
    }

    @Test func sha256OfAMillionAs() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256Digest.hexDigest(message) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func canonicalStringAndFingerprintVector() throws {
        let request = try NotificationRequest(requestId: "r-1", called: "+8613800000001", callerPresent: "4008001234",
                                              voiceContent: .segments([.voiceId("1133"), .text("Tom")]), priority: 3)
        #expect(request.fingerprintCanonicalString == "aicc-notify.fingerprint.v1\n14:+8613800000001\n10:4008001234\n10:1133~$Tom$\n1:3")
        #expect(request.fingerprint == SHA256Digest.hexDigest(Array(request.fingerprintCanonicalString.utf8)))
        #expect(request.fingerprint.count == 64)
        let absent = NotificationRequest.fingerprintCanonicalString(called: "123", callerPresent: nil, voiceContent: "1", priority: 9)
        #expect(absent == "aicc-notify.fingerprint.v1\n3:123\n-\n1:1\n1:9")
    }

    @Test func onlyCallShapingFieldsChangeTheFingerprint() throws {
        let base = try NotificationRequest(requestId: "r-1", called: "123456", voiceContent: .raw("1~$a$"))
        let same = try NotificationRequest(requestId: "r-2", idempotencyKey: "other", called: "123456",
                                           voiceContent: .segments([.voiceId("1"), .text("a")]), priority: 9,
                                           statusCallback: false, expiresAt: "2030-01-01T00:00:00Z", attributes: ["a": "b"])
        #expect(base.fingerprint == same.fingerprint)
        let changes = [
            try NotificationRequest(requestId: "r", called: "1234567", voiceContent: .raw("1~$a$")),
            try NotificationRequest(requestId: "r", called: "123456", callerPresent: "999", voiceContent: .raw("1~$a$")),
            try NotificationRequest(requestId: "r", called: "123456", voiceContent: .raw("1~$b$")),
            try NotificationRequest(requestId: "r", called: "123456", voiceContent: .raw("1~$a$"), priority: 8),
        ]
        #expect(Set(changes.map(\.fingerprint) + [base.fingerprint]).count == 5)
    }
}
