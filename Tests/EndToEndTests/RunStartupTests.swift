import AICCSimulator
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `aicc-notify run` never hangs silently at start (issue 15 §2): a listener
/// that cannot open ends it at once, naming `http.listen`, before any record
/// is touched; SIGTERM while the store is still being waited for ends it the
/// documented way.
@Suite("aicc-notify run: start-up failures and signals", .serialized, .timeLimit(.minutes(5)))
struct RunStartupTests {
    /// Holds a listening TCP socket on a loopback port until closed.
    final class BusyPort {
        let port: Int
        private let descriptor: Int32

        init() throws {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw ScenarioFailure("socket() failed") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
            }
            guard bound == 0, listen(descriptor, 1) == 0 else { throw ScenarioFailure("bind/listen failed") }
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            self.descriptor = descriptor
            self.port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(self.descriptor) }
    }

    @Test("http.listen in use or not this host's: exit 1 at once naming http.listen and the cause, no record touched",
          arguments: ["busy", "256.1.1.1:8080", "192.0.2.1:8080"])
    func unusableListenAddress(listen: String) async throws {
        try await ProcessScenario.with(simulator: .init()) { s in
            try await s.produce((0..<5).map { ProcessScenario.request($0) })
            let busy = try BusyPort()
            let address = listen == "busy" ? "127.0.0.1:\(busy.port)" : listen
            let worker = try s.startWorker(s.environment(["AICC_NOTIFY_HTTP_LISTEN": address, "AICC_NOTIFY_LOG_LEVEL": "info"]))
            let started = ContinuousClock.now
            let status = worker.waitForExit(timeout: 30)
            let log = worker.stderrText
            #expect(status == 1, "\(log)")
            #expect(ContinuousClock.now - started < .seconds(20))
            let last = log.split(separator: "\n").last.map(String.init) ?? ""
            #expect(last.hasPrefix("aicc-notify: http.listen: cannot listen on \(address): "), "\(last)")
            if listen == "busy" { #expect(last.contains("Address already in use")) }
            // Nothing was consumed: no result, no AICC call, no claim in the store.
            #expect(try s.distinctResults().isEmpty)
            #expect(s.simulator.stats.totalCalls == 0)
            #expect(!log.contains("dispatch starting"))
            _ = busy
        }
    }

    @Test(":PORT listens on all interfaces")
    func portOnlyListensEverywhere() async throws {
        try await ProcessScenario.with(simulator: .init()) { s in
            let port = try freePort()
            let worker = try s.startWorker(s.environment(["AICC_NOTIFY_HTTP_LISTEN": ":\(port)"]))
            defer { worker.signal(SIGKILL); _ = worker.waitForExit(timeout: 10) }
            var answered = false
            for _ in 0..<100 where !answered {
                try await Task.sleep(for: .milliseconds(100))
                let output = try ProcessSupport.run(ProcessSupport.which("curl")!, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/healthz"])
                answered = output.stdout == "200"
            }
            #expect(answered, "\(worker.stderrText)")
            worker.signal(SIGTERM)
            #expect(worker.waitForExit(timeout: 30) == 0)
        }
    }

    @Test("SIGTERM while the store is waited for: 'waiting for the store' at info, then exit 0 at once")
    func sigtermWhileWaitingForTheStore() async throws {
        try await ProcessScenario.with(simulator: .init()) { s in
            let port = try freePort()  // nothing listens there: PostgreSQL is "down"
            let worker = try s.startWorker(s.environment([
                "AICC_NOTIFY_STORE_URL": "postgres://aicc:secret-pass@127.0.0.1:\(port)/aicc?sslmode=disable",
                "AICC_NOTIFY_LOG_LEVEL": "info",
            ]))
            var waiting = false
            for _ in 0..<100 where !waiting {
                try await Task.sleep(for: .milliseconds(100))
                waiting = worker.stderrText.contains("waiting for the store")
            }
            #expect(waiting, "\(worker.stderrText)")
            worker.signal(SIGTERM)
            let signalled = ContinuousClock.now
            let status = worker.waitForExit(timeout: 20)
            #expect(status == 0, "\(worker.stderrText)")
            #expect(ContinuousClock.now - signalled < .seconds(5))
            #expect(worker.process.terminationReason == .exit)
            #expect(!worker.stderrText.contains("secret-pass"))
        }
    }

    private func freePort() throws -> Int {
        let busy = try BusyPort()
        return busy.port  // closed on return: free again
    }
}
