import Foundation
import Testing

/// `aicc-notify demo` as a user runs it (issue #9): exit 0, a row per record,
/// and a summary that agrees with what the simulator recorded.
@Suite("aicc-notify demo", .timeLimit(.minutes(3)))
struct DemoCommandTests {
    @Test("The demo runs to exit 0 and its table matches the simulator")
    func demo() throws {
        let output = try ProcessSupport.run(ProcessSupport.binary, ["demo", "--count", "10"])
        #expect(output.status == 0, "\(output.stderr)")
        let lines = output.stdout.split(separator: "\n").map(String.init)
        let summary = try #require(lines.last { $0.hasPrefix("summary: ") }, "\(output.stdout)")
        #expect(summary.contains("results match the simulator"), "\(summary)")
        // 10 valid + duplicate + conflict + expired + invalid + a storm of 4 and a bypassing page = 19 distinct
        // requests (the redelivery has a requestId seen before); 2 of the storm ring, 2 are suppressed.
        // Plus two requests that alert routing made (a db alert to a roster of two), and an escalation
        // chain's two (step 0 rings out unanswered, step 1 answers).
        #expect(summary.hasPrefix("summary: 23 requests: 17 accepted, "), "\(summary)")
        #expect(summary.contains("2 suppressed"), "\(summary)")
        #expect(summary.contains("1 duplicate"), "\(summary)")
        #expect(summary.contains("2 rejected"), "\(summary)")
        #expect(summary.contains("1 expired"), "\(summary)")
        #expect(summary.contains("1 dead-lettered"), "\(summary)")
        #expect(summary.contains("17 call-status events"), "\(summary)")
        #expect(summary.contains("calls, 17 accepted;"), "\(summary)")
        #expect(summary.contains("escalation: escalated (step 1) → answered (step 1);"), "\(summary)")  // the simulator's own count of accepted calls

        let rows = lines.filter {
            $0.hasPrefix("alert-") || $0.hasPrefix("stale-") || $0.hasPrefix("bad-") || $0.hasPrefix("(none)") || $0.hasPrefix("storm-")
                || $0.hasPrefix("alert:") || $0.hasPrefix("(alert)") || $0.hasPrefix("(escalation)")
        }
        #expect(rows.count == 29)
        // Numbers are masked to their last 4 digits; serials are shown for accepted calls.
        #expect(!output.stdout.contains("+8613800010000"))
        #expect(rows.first { $0.hasPrefix("alert-1 ") }?.contains("*0000") == true)
        // The 10 valid ones, and the redelivery showing the stored result of the first.
        let accepted = rows.filter { $0.contains(" accepted ") }
        #expect(accepted.count == 18)
        // Alert routing: the firing db alert rang the roster's two numbers; the resolved one and the repeat rang nobody.
        #expect(rows.filter { $0.hasPrefix("alert:") && $0.contains(" accepted ") && $0.hasSuffix("route db") }.count == 2)
        // Escalation: the page's step 0 rang out unanswered, step 1 was called and answered; nobody more.
        #expect(rows.contains { $0.hasPrefix("alert:") && $0.contains("unanswered (4)") && $0.hasSuffix("route db-primary-down") })
        #expect(rows.contains { $0.hasPrefix("alert:") && $0.contains("answered (0)") && $0.hasSuffix("escalation step 1") })
        let escalations = rows.filter { $0.hasPrefix("(escalation)") }
        #expect(escalations.count == 2)
        #expect(escalations.first?.contains(" escalated ") == true && escalations.first?.contains("step 1 called") == true)
        #expect(escalations.last?.contains(" answered ") == true && escalations.last?.contains("nobody more is called") == true)
        #expect(rows.contains { $0.hasPrefix("(alert)") && $0.contains("resolved: nobody is called") })
        // The storm: two ring, two are suppressed (dispatch.storm), the priority-1 page bypasses.
        #expect(rows.filter { $0.hasPrefix("storm-") && $0.contains(" suppressed ") && $0.contains("dispatch.storm") }.count == 2)
        #expect(rows.first { $0.hasPrefix("storm-page") }?.contains(" accepted ") == true)
        #expect(rows.first { $0.hasPrefix("alert-1-reused") }?.contains("idempotency.conflict") == true)
        #expect(rows.first { $0.hasPrefix("alert-1-again") }?.contains("duplicate") == true)
        #expect(rows.first { $0.hasPrefix("stale-alert") }?.contains("expired") == true)
        #expect(rows.first { $0.hasPrefix("bad-number") }?.contains("validation.called") == true)
        // Status callbacks are on: every accepted call shows its normalized status.
        #expect(accepted.allSatisfy { $0.contains("answered (") || $0.contains("unanswered (") || $0.contains("failed (") })
    }
}
