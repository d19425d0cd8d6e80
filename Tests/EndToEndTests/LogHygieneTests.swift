import AICCSimulator
import Foundation
import NotifyCore
import Testing

/// What the worker process writes, at its most verbose, never carries a
/// secret or a whole phone number (issue #9, "Logs").
@Suite("The worker's logs", .serialized, .timeLimit(.minutes(5)))
struct LogHygieneTests {
    static let plantedAppSecret = "PLANTED-app-secret-5d1c8e"
    static let plantedCallbackSecret = "PLANTED-callback-secret-9b27f4"
    static let plantedSharedKey = "PLANTED-shared-key-31e0aa"

    @Test("debug-level JSON and text logs of a run carry no planted secret and no whole phone number", arguments: ["json", "text"])
    func noSecretsAndMaskedNumbers(format: String) async throws {
        var simulator = AICCSimulator.Configuration()
        simulator.appSecret = Self.plantedAppSecret
        simulator.latency = .milliseconds(5)
        try await ProcessScenario.with(simulator: simulator) { s in
            let requests = (0..<30).map { ProcessScenario.request(70_000 + $0) }
            try await s.produce(requests)
            let worker = try s.startWorker(s.environment([
                "AICC_NOTIFY_AICC_APP_SECRET": Self.plantedAppSecret,
                "AICC_NOTIFY_CALLBACK_PUBLIC_BASE_URL": "http://127.0.0.1:9/hooks",
                "AICC_NOTIFY_CALLBACK_SECRET": Self.plantedCallbackSecret,
                "AICC_NOTIFY_CALLBACK_SHARED_KEY": Self.plantedSharedKey,
                "AICC_NOTIFY_LOG_LEVEL": "trace",
                "AICC_NOTIFY_LOG_FORMAT": format,
            ]))
            try await s.waitUntil("every request has a result", timeout: .seconds(90)) {
                try s.distinctResults().count == requests.count
            }
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)
            let log = worker.stderrText
            // The run logged something about each request (so the check below means something).
            #expect(log.count > 10_000, "only \(log.count) bytes of log")
            #expect(log.contains("r-70000"))
            for secret in [Self.plantedAppSecret, Self.plantedCallbackSecret, Self.plantedSharedKey] {
                #expect(!log.contains(secret), "a planted secret is in the log")
            }
            for request in requests {
                #expect(!log.contains(request.called), "\(request.requestId)'s number is in the log unmasked")
                // Without the country code too, and in the E.164 digits alone.
                #expect(!log.contains(String(request.called.dropFirst(3))), "\(request.requestId)'s national number is in the log")
            }
            // Masked numbers keep their last four digits.
            #expect(log.contains(String(requests[0].called.suffix(4))))
            // Each request's `result` line carries its masked number (README: The worker).
            let masked = PhoneNumberMask.mask(requests[0].called)
            let resultLine = log.split(separator: "\n").first { line in
                line.contains("r-70000") && (format == "json" ? line.contains(#""msg":"result""#) : line.contains(": result "))
            }
            #expect(resultLine?.contains(masked) == true, "\(resultLine ?? "no result line for r-70000")")
        }
    }
}
