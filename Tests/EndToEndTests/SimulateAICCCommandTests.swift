import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite("aicc-notify simulate-aicc as its own process", .timeLimit(.minutes(1)))
struct SimulateAICCCommandTests {
    private func request(_ url: URL, method: String = "GET", headers: [String: String] = [:], body: String? = nil) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body.map { Data($0.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    @Test("Prints its base URL first, serves the AICC endpoints and its stats over HTTP, exits 0 on SIGTERM")
    func standaloneSimulator() async throws {
        let child = try ChildProcess(ProcessSupport.binary, ["simulate-aicc", "--port", "0", "--app-key", "key-1", "--app-secret", "secret-1"])
        let baseURL = try #require(child.firstLine().flatMap(URL.init(string:)))
        #expect(baseURL.absoluteString.hasPrefix("http://127.0.0.1:"))

        let (tokenStatus, token) = try await self.request(
            baseURL.appendingPathComponent("apigovernance/api/oauth/tokenByAkSk"), method: "POST",
            headers: ["Content-Type": "application/json", "X-Token-Expire": "600"],
            body: #"{"app_key": "key-1", "app_secret": "secret-1"}"#
        )
        #expect(tokenStatus == 200)
        let accessToken = try #require(token["AccessToken"] as? String)

        let (callStatus, call) = try await self.request(
            baseURL.appendingPathComponent("apiaccess/rest/voiceNotification/v1/createVoiceNotification"), method: "POST",
            headers: ["Content-Type": "application/json", "X-APP-Key": "key-1", "Authorization": "Bearer \(accessToken)"],
            body: #"{"voiceContent": "1133999~$Server down$~2225149", "called": "+8613800000000", "priority": "1"}"#
        )
        #expect(callStatus == 200)
        #expect(call["retCode"] as? String == "0")
        #expect(((call["result"] as? [String: Any])?["callSerialNo"] as? String)?.isEmpty == false)

        let (statsStatus, stats) = try await self.request(baseURL.appendingPathComponent("_sim/stats"))
        #expect(statsStatus == 200)
        #expect("\(stats)".contains("accepted"), "\(stats)")

        child.signal(SIGTERM)
        #expect(child.waitForExit(timeout: 15) == 0)
    }
}
