import AICCWire
import Foundation
import Logging

/// The release event AICC posts when a call ends (aicc-api.md §3).
enum ReleaseEvent {
    /// Realistic fields for a call released with `reason`: connected calls (0, 1) ring,
    /// talk and have a duration; 4 rings out; the others fail before ringing.
    static func fields(
        callSerialNo: String,
        called: String,
        callerPresent: String?,
        reason: Int,
        createdAt: Date,
        talkSeconds: Int
    ) -> [String: String] {
        let alerting = createdAt.addingTimeInterval(2.345)
        let talking = alerting.addingTimeInterval(4.210)
        var fields: [String: String] = [
            "callSerialNo": callSerialNo,
            "called": called,
            "callerPresent": callerPresent ?? "95555",
            "createCallTime": format(createdAt),
            "alertingTime": "",
            "talkingTime": "",
            "releaseTime": "",
            "talkDuration": "0",
            "recordfile": "",
            "locationId": "0",
            "releaseReason": String(reason),
        ]
        switch reason {
        case 0, 1:
            fields["alertingTime"] = format(alerting)
            fields["talkingTime"] = format(talking)
            fields["talkDuration"] = String(talkSeconds)
            fields["releaseTime"] = format(talking.addingTimeInterval(Double(talkSeconds)))
        case 4:
            fields["alertingTime"] = format(alerting)
            fields["releaseTime"] = format(alerting.addingTimeInterval(45))
        default:
            fields["releaseTime"] = format(createdAt.addingTimeInterval(1.5))
        }
        return fields
    }

    /// `2022/02/17,13:10:06:836` (UTC).
    static func format(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
        func pad(_ value: Int?, _ width: Int) -> String { String(value ?? 0).leftPadded(to: width) }
        let millis = (c.nanosecond ?? 0) / 1_000_000
        return "\(pad(c.year, 4))/\(pad(c.month, 2))/\(pad(c.day, 2)),\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)):\(pad(millis, 3))"
    }
}

extension AICCSimulator {
    /// Builds (and signs, when a shared key is set) the report for an accepted call.
    func makeReport(serial: String, fields: CreateFields, url: String, state: inout SimulatorState) -> PendingReport {
        let configuration = state.configuration.callback
        let reason = state.nextReleaseReason(called: fields.called)
        let talkSeconds = 5 + Int(state.random.next() % 40)
        var body = ReleaseEvent.fields(
            callSerialNo: serial,
            called: fields.called ?? "",
            callerPresent: fields.callerPresent,
            reason: reason,
            createdAt: Date(),
            talkSeconds: talkSeconds
        )
        if let sharedKey = configuration.sharedKey {
            if sharedKey.count < 16 {
                self.logger.warning("callback shared key shorter than 16 characters: AICC would not sign; signing anyway")
            }
            let now = Date().timeIntervalSince1970
            let timestamp = configuration.timestampUnit == .milliseconds ? String(Int64(now * 1000)) : String(Int64(now))
            let nonce = state.hex(bytes: 16)
            let signature = CallbackSignature.sign(
                fields: body,
                sharedKey: sharedKey,
                timestamp: timestamp,
                nonce: nonce,
                algorithm: configuration.signatureAlgorithm
            )
            body["timestamp"] = timestamp
            body["nonce"] = nonce
            body["signature"] = signature
        }
        return PendingReport(url: url, body: body, delay: configuration.delay, copies: 1 + max(0, configuration.duplicates), timeout: configuration.timeout)
    }
}
