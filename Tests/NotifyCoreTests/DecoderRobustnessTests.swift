import Foundation
import NotifyCore
import Testing

/// A small seeded RNG (SplitMix64) so every run feeds the same payloads.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct DecoderRobustnessTests {
    let decoder = RequestDecoder()

    static let brokenPayloads: [(bytes: [UInt8], code: String)] = [
        ([0xFF, 0xFE, 0x7B, 0x7D] as [UInt8], "decode.utf8"),
        (Array("{\"a\":".utf8), "decode.json"),
        (Array("".utf8), "decode.json"),
        (Array("{} {}".utf8), "decode.json"),
        (Array("{\"a\":01}".utf8), "decode.json"),
        (Array("{\"a\":Infinity}".utf8), "decode.json"),
        (Array("{\"a\":\"\\udc00\"}".utf8), "decode.json"),
        (Array("[1,2]".utf8), "decode.not_object"),
        (Array("null".utf8), "decode.not_object"),
        (Array("42".utf8), "decode.not_object"),
        (Array("{\"a\":1,\"a\":2}".utf8), "decode.duplicate_key"),
        (Array(("{\"a\":" + String(repeating: "[", count: 60_000)).utf8), "decode.too_deep"),
        (Array(("{\"a\":" + String(repeating: "{\"b\":", count: 40) + "1" + String(repeating: "}", count: 41)).utf8), "decode.too_deep"),
        ([UInt8](repeating: 0x20, count: 65_537), "decode.too_large"),
    ]

    @Test(arguments: brokenPayloads)
    func classifiesBrokenPayloads(bytes: [UInt8], code: String) {
        let result = decoder.decodeDocument(bytes)
        #expect(result.kind == .undecodable)
        #expect(result.errors.map(\.code) == [code])
        #expect(result.requestId == nil && result.shouldDeadLetter)
    }

    @Test func depthLimitIsExact() {
        // Root object = level 1; 31 more nested arrays = 32 levels: accepted. One more: rejected.
        func document(levels: Int) -> [UInt8] {
            Array(("{\"requestId\":\"r\",\"called\":\"123\",\"voiceContent\":\"1\",\"x\":"
                + String(repeating: "[", count: levels - 1) + String(repeating: "]", count: levels - 1) + "}").utf8)
        }
        #expect(decoder.decodeDocument(document(levels: 32)).kind == .valid)
        #expect(decoder.decodeDocument(document(levels: 33)).errors.map(\.code) == ["decode.too_deep"])
        #expect(StrictJSONParser.nestingDepth(of: Array(#"{"a":"[[[[","b":[{}]}"#.utf8)) == 3)
    }

    @Test func sizeLimitIsConfigurableAndExact() {
        let value = Array(#"{"requestId":"r","called":"123","voiceContent":"1"}"#.utf8)
        #expect(RequestDecoder(configuration: .init(maxBytes: value.count)).decodeDocument(value).kind == .valid)
        #expect(RequestDecoder(configuration: .init(maxBytes: value.count - 1)).decodeDocument(value).errors.map(\.code) == ["decode.too_large"])
    }

    /// Feeds 12,000 payloads (random bytes, and byte flips, truncations,
    /// insertions, duplications and deletions of the valid examples), each as a
    /// plain record and as binary and structured CloudEvents, and checks every
    /// answer is a consistent classification with known codes.
    @Test func fuzzAlwaysClassifies() throws {
        let seeds = try TestSupport.jsonFiles(in: TestSupport.examplesDir.appendingPathComponent("valid")).map(TestSupport.bytes(of:))
            + [Array(#"{"specversion":"1.0","id":"e","source":"s","type":"com.aicc-notify.notification.request.v1","data":{"called":"123","voiceContent":"1"}}"#.utf8)]
        let knownCodes = Set(ContractErrorCode.allCases.map(\.rawValue))
        let tokens: [[UInt8]] = ["{", "}", "[", "]", "\"", "\\", ":", ",", "\\u", "\\ud800", "null", "-0.0e", "\u{0}", "~", "$", "\u{FEFF}"]
            .map { Array($0.utf8) }
        var rng = SplitMix64(seed: 0x5EED_A1CC)
        var kinds: [DecodeResult.Kind: Int] = [:]
        let iterations = 12_000
        for iteration in 0..<iterations {
            var payload: [UInt8]
            if iteration % 10 == 0 {
                payload = (0..<Int.random(in: 0...256, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                payload = seeds[Int.random(in: 0..<seeds.count, using: &rng)]
                for _ in 0..<Int.random(in: 1...4, using: &rng) where !payload.isEmpty {
                    let at = Int.random(in: 0..<payload.count, using: &rng)
                    switch Int.random(in: 0..<6, using: &rng) {
                    case 0: payload[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)  // bit flip
                    case 1: payload.removeSubrange(at...)  // truncation
                    case 2: payload.insert(contentsOf: tokens[Int.random(in: 0..<tokens.count, using: &rng)], at: at)  // insertion
                    case 3:  // duplication of a slice
                        let end = min(payload.count, at + Int.random(in: 1...64, using: &rng))
                        payload.insert(contentsOf: payload[at..<end], at: end)
                    case 4: payload.removeSubrange(at..<min(payload.count, at + Int.random(in: 1...16, using: &rng)))  // deletion
                    default: payload[at] = UInt8.random(in: 0...255, using: &rng)  // random byte
                    }
                }
            }
            let records = [
                InboundRecord(value: payload),
                InboundRecord(value: payload, headers: [
                    ("ce_specversion", Array("1.0".utf8)), ("ce_id", Array("ce-\(iteration)".utf8)), ("ce_source", Array("fuzz".utf8)),
                    ("ce_type", Array(RequestDecoder.defaultCloudEventType.utf8)),
                ]),
                InboundRecord(value: payload, headers: [("content-type", Array("application/cloudevents+json".utf8))]),
            ]
            for record in records {
                let result = decoder.decode(record)
                kinds[result.kind, default: 0] += 1
                switch result.kind {
                case .valid:
                    #expect(result.errors.isEmpty && result.request != nil)
                    #expect(result.requestId == result.request?.requestId)
                case .invalid, .undecodable:
                    #expect(!result.errors.isEmpty && result.request == nil)
                }
                for error in result.errors {
                    #expect(knownCodes.contains(error.code), "unknown code \(error.code)")
                    #expect(error.path.isEmpty || error.path.hasPrefix("/"))
                    #expect(!error.message.isEmpty)
                }
                if let requestId = result.requestId {
                    // Readable ids are carried even when invalid; then the
                    // record is both rejected and dead-lettered.
                    #expect(!requestId.isEmpty)
                    #expect(result.kind == .valid || result.shouldPublishRejected)
                    if !NotificationRequest.isValidIdentifier(requestId) { #expect(result.shouldDeadLetter) }
                }
            }
        }
        // The mutations must exercise every class, or the fuzz proves little.
        #expect(kinds[.valid, default: 0] > 0 && kinds[.invalid, default: 0] > 0 && kinds[.undecodable, default: 0] > 0)
        #expect(kinds.values.reduce(0, +) == iterations * 3)
    }
}
