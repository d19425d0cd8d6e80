import AICCWire
import AICCSimulator
import Crypto
import Foundation
import Testing

/// An independently written verifier of the vendor's status-report signature
/// (aicc-api.md §3), used to check what the simulator signs.
enum IndependentVerifier {
    static func verify(_ body: [String: String], sharedKey: String, plainSHA256: Bool = false) -> Bool {
        guard let timestamp = body["timestamp"], let nonce = body["nonce"], let signature = body["signature"] else { return false }
        guard let stamp = Int64(timestamp) else { return false }
        // Milliseconds or seconds, judged by magnitude (10^11 s is in the year 5138).
        let seconds = stamp >= 100_000_000_000 ? Double(stamp) / 1000 : Double(stamp)
        guard abs(Date().timeIntervalSince1970 - seconds) < 300 else { return false }
        var pairs: [String] = []
        for key in body.keys.sorted() where key != "timestamp" && key != "nonce" && key != "signature" {
            pairs.append(key + "=" + body[key]!)
        }
        let joined = String(pairs.joined(separator: ",").filter { $0 != " " })
        let message = Array((sharedKey + "_" + timestamp + "_" + nonce + "_" + joined).utf8)
        let digest: [UInt8]
        if plainSHA256 {
            digest = Array(SHA256.hash(data: message))
        } else {
            digest = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(sharedKey.utf8))))
        }
        return Data(digest).base64EncodedString() == signature
    }
}

@Suite struct CallbackSignatureTests {
    // The test vector was computed once with Python's standard library:
    //
    //   import hmac, hashlib, base64
    //   shared = "0123456789abcdefSHARED"; timestamp = "1700000000123"; nonce = "6e6f6e63652d3432"
    //   fields = {...below...}
    //   joined = ",".join(f"{k}={v}" for k, v in sorted(fields.items())).replace(" ", "")
    //   s = f"{shared}_{timestamp}_{nonce}_{joined}"
    //   base64.b64encode(hmac.new(shared.encode(), s.encode(), hashlib.sha256).digest())  # HMAC
    //   base64.b64encode(hashlib.sha256(s.encode()).digest())                            # plain
    static let sharedKey = "0123456789abcdefSHARED"
    static let timestamp = "1700000000123"
    static let nonce = "6e6f6e63652d3432"
    static let fields: [String: String] = [
        "callSerialNo": "118200012300000001", "called": "88880000", "callerPresent": "95555",
        "createCallTime": "2022/02/17,13:10:06:836", "releaseReason": "1", "talkDuration": "12",
        "recordfile": "a b.wav", "locationId": "0",
    ]
    static let expectedString = "0123456789abcdefSHARED_1700000000123_6e6f6e63652d3432_callSerialNo=118200012300000001,called=88880000,callerPresent=95555,createCallTime=2022/02/17,13:10:06:836,locationId=0,recordfile=ab.wav,releaseReason=1,talkDuration=12"
    static let expectedHMAC = "dOk3wO0snpPXIByKaaRMHpYR7dU2fqpEuC2rsvgqqbY="
    static let expectedSHA256 = "YegPWiPcXJgPAcBfw0YQB5CZV5vCjTeXEEQ5Van2oHE="

    @Test func vectorStringToSign() {
        #expect(CallbackSignature.stringToSign(fields: Self.fields, sharedKey: Self.sharedKey, timestamp: Self.timestamp, nonce: Self.nonce) == Self.expectedString)
        // timestamp, nonce and signature never take part.
        var withExtras = Self.fields
        withExtras["timestamp"] = "1"; withExtras["nonce"] = "2"; withExtras["signature"] = "3"
        #expect(CallbackSignature.canonicalFields(withExtras) == CallbackSignature.canonicalFields(Self.fields))
    }

    @Test func vectorHMAC() {
        #expect(CallbackSignature.sign(fields: Self.fields, sharedKey: Self.sharedKey, timestamp: Self.timestamp, nonce: Self.nonce) == Self.expectedHMAC)
    }

    @Test func vectorPlainSHA256() {
        #expect(CallbackSignature.sign(fields: Self.fields, sharedKey: Self.sharedKey, timestamp: Self.timestamp, nonce: Self.nonce, algorithm: .sha256) == Self.expectedSHA256)
    }

    @Test func independentVerifierMatchesVector() {
        // The verifier checks freshness, so give the vector a current timestamp and compare
        // the digests it computes with the pinned string's digests instead.
        var body = Self.fields
        body["timestamp"] = Self.timestamp
        body["nonce"] = Self.nonce
        body["signature"] = Self.expectedHMAC
        #expect(!IndependentVerifier.verify(body, sharedKey: Self.sharedKey), "a 2023 timestamp is stale")
        let now = String(Int64(Date().timeIntervalSince1970 * 1000))
        body["timestamp"] = now
        body["signature"] = CallbackSignature.sign(fields: Self.fields, sharedKey: Self.sharedKey, timestamp: now, nonce: Self.nonce)
        #expect(IndependentVerifier.verify(body, sharedKey: Self.sharedKey))
        body["called"] = "88880001"
        #expect(!IndependentVerifier.verify(body, sharedKey: Self.sharedKey), "a changed field breaks the signature")
    }

    @Test(arguments: [
        (CallbackSignature.Algorithm.hmacSHA256, CallbackSignature.TimestampUnit.milliseconds),
        (.hmacSHA256, .seconds),
        (.sha256, .milliseconds),
    ])
    func simulatorSignsReportsThatVerify(algorithm: CallbackSignature.Algorithm, unit: CallbackSignature.TimestampUnit) async throws {
        var configuration = AICCSimulator.Configuration()
        configuration.callback.sharedKey = Self.sharedKey
        configuration.callback.signatureAlgorithm = algorithm
        configuration.callback.timestampUnit = unit
        configuration.callback.releaseReason = .allDocumented
        configuration.callback.duplicates = 1
        configuration.seed = 7
        try await CallbackReceiver.withRunning { receiver, receiverURL in
            try await AICCSimulator.withRunning(configuration: configuration, logger: quietLogger) { simulator in
                let base = try await simulator.baseURL()
                let token = try await RawHTTP.token(base)
                var serials: [String] = []
                for index in 0..<8 {
                    let url = receiverURL + "/aicc/status/req\(index)?m_abc-123"
                    let answer = try await RawHTTP.create(base, token: token, body: ["callBackUrl": base64(url), "callerPresent": "95555"])
                    let result = try #require(answer.json?["result"] as? [String: Any])
                    serials.append(try #require(result["callSerialNo"] as? String))
                }
                try await receiver.waitFor(count: 16)
                let reports = receiver.received
                #expect(reports.count == 16, "one report and one duplicate per call")
                for report in reports {
                    #expect(IndependentVerifier.verify(report, sharedKey: Self.sharedKey, plainSHA256: algorithm == .sha256))
                    #expect(!IndependentVerifier.verify(report, sharedKey: "another-shared-key-0000", plainSHA256: algorithm == .sha256))
                    let stamp = try #require(Int64(report["timestamp"] ?? ""))
                    #expect((stamp >= 100_000_000_000) == (unit == .milliseconds))
                    #expect(report["called"] == "88880000")
                    #expect(report["callerPresent"] == "95555")
                    for key in ["createCallTime", "alertingTime", "talkingTime", "releaseTime", "talkDuration", "recordfile", "locationId", "releaseReason"] {
                        #expect(report[key] != nil, "field \(key)")
                    }
                }
                #expect(Set(reports.compactMap { $0["callSerialNo"] }) == Set(serials))
                #expect(Set(reports.compactMap { $0["releaseReason"] }) == ["0", "1", "4", "6", "8", "9", "10", "999"])
                // The simulator counts a post once it has read the answer, just after the receiver stored it.
                let deadline = ContinuousClock.now + .seconds(5)
                while simulator.stats.callbacksDelivered < 16, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(simulator.stats.callbacksDelivered == 16)
                #expect(simulator.stats.callbacksFailed == 0)
            }
        }
    }

    @Test func unsignedWithoutSharedKey() async throws {
        try await CallbackReceiver.withRunning { receiver, receiverURL in
            try await AICCSimulator.withRunning(logger: quietLogger) { simulator in
                let base = try await simulator.baseURL()
                let token = try await RawHTTP.token(base)
                _ = try await RawHTTP.create(base, token: token, body: ["callBackUrl": base64(receiverURL + "/aicc/status/one")])
                try await receiver.waitFor(count: 1)
                let report = try #require(receiver.received.first)
                #expect(report["signature"] == nil && report["nonce"] == nil && report["timestamp"] == nil)
                #expect(report["releaseReason"] == "1")
                #expect(report["createCallTime"]?.count == "2022/02/17,13:10:06:836".count)
            }
        }
    }
}
