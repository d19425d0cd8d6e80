import AICC
import Foundation
import NotifyCore
import Testing

/// A request the contract calls valid must be one AICC accepts: every file in
/// `schemas/examples/valid/` goes through the client to the simulator (which
/// applies AICC's body checks: callerPresent, voiceContent, priority).
@Suite("Valid examples reach AICC")
struct ValidExamplesTests {
    static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schemas/examples/valid")

    @Test func everyValidExampleIsAccepted() async throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.examples, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        #expect(files.count >= 10)
        try await withClient { client, _ in
            for file in files {
                let decoded = RequestDecoder().decodeDocument(Array(try Data(contentsOf: file)))
                let request = try #require(decoded.request, "\(file.lastPathComponent): \(decoded.errors)")
                let notification = VoiceNotification(
                    called: request.called, callerPresent: request.callerPresent, voiceContent: request.voiceContent,
                    priority: request.priority)
                do {
                    let accepted = try await client.createVoiceNotification(notification, logger: quietLogger)
                    #expect(!accepted.callSerialNo.isEmpty)
                } catch {
                    Issue.record("\(file.lastPathComponent) was refused by AICC: \(error)")
                }
            }
        }
    }
}
