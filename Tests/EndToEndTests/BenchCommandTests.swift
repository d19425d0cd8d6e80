import Foundation
import Testing

/// `aicc-notify bench` (issue #10) runs and prints its figures; no figure is
/// asserted (speed is measured, not tested), only that each is there and that
/// every request reached AICC exactly once.
@Suite("aicc-notify bench", .timeLimit(.minutes(3)))
struct BenchCommandTests {
    @Test("A small run prints a row per scenario, the ceiling and the targets")
    func smallRun() throws {
        let output = try ProcessSupport.run(ProcessSupport.binary, ["bench", "--scenarios", "a,c", "--scale", "0.01"])
        #expect(output.status == 0, "\(output.stderr)")
        let lines = output.stdout.split(separator: "\n").map(String.init)
        let rows = lines.filter { $0.hasPrefix("| a ") || $0.hasPrefix("| c ") }
        #expect(rows.count == 2, "\(output.stdout)")
        for row in rows {
            // scenario | requests | requests/s | latency | CPU | RSS | private · file-backed | drain: every figure a number.
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(cells.count == 8, "\(row)")
            let figures = cells.dropFirst().flatMap { $0.split(whereSeparator: { $0 == "/" || $0 == "·" }).map { $0.trimmingCharacters(in: .whitespaces) } }
            #expect(figures.allSatisfy { Double($0) != nil && Double($0)! >= 0 }, "\(row)")
            // The memory split was sampled: a running worker has both kinds.
            if cells.count == 8 {
                let memory = cells[6].split(separator: "·").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                #expect(memory.count == 2 && memory.allSatisfy { $0 > 0 }, "\(row)")
            }
        }
        #expect(lines.contains { $0.hasPrefix("| a ") && $0.contains("| 200 |") }, "scale 0.01 of 20,000")
        #expect(lines.filter { $0.hasSuffix("each number called once") }.count == 2, "\(output.stdout)")
        #expect(lines.contains { $0.hasPrefix("ceiling: kcat consume → kcat produce, 200 records") }, "\(output.stdout)")
        #expect(lines.contains { $0.hasPrefix("a: the worker's rate is ") })
        #expect(lines.contains { $0.hasPrefix("target a: ") })
        // c's floor: a bare consumer with the worker's fetch settings saw every record (100 at scale 0.01).
        let floor = lines.first { $0.hasPrefix("c: floor (a bare consumer with the worker's fetch settings") }
        #expect(floor?.contains(", 100 records): p50 ") == true, "\(output.stdout)")
        let floorFigures = floor.map { line in
            line.split(separator: ":").last!.split(whereSeparator: { $0 == "/" || $0 == " " }).compactMap { Double($0) }
        }
        #expect(floorFigures?.count == 3 && floorFigures!.allSatisfy { $0 > 0 }, "\(floor ?? "no floor line")")
        #expect(lines.contains { $0.hasPrefix("target c: added latency p99 ≤ 12 ms: ") && $0.contains("(its floor: p99 ") }, "\(output.stdout)")
        // The worker's own AICC call durations, read from its /metrics (c: AICC takes 200 ms; a: instantly, no line).
        #expect(lines.contains { $0.hasPrefix("c: the worker's AICC calls took ") && $0.hasSuffix("(the simulator answers after 200 ms)") }, "\(output.stdout)")
        #expect(!lines.contains { $0.hasPrefix("a: the worker's AICC calls took ") }, "\(output.stdout)")
    }

    @Test("Scenarios e1 and e run one and three workers on a PostgreSQL server the bench starts, and compare them")
    func fleetOnPostgres() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-e-\(UUID().uuidString.prefix(6))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = try ProcessSupport.run(
            ProcessSupport.binary, ["bench", "--scenarios", "e1,e", "--scale", "0.02", "--no-ceiling", "--keep", directory.path])
        #expect(output.status == 0, "\(output.stdout)\n\(output.stderr)")
        let lines = output.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("| e1 one worker on one PostgreSQL") && $0.contains("| 180 |") }, "\(output.stdout)")
        #expect(lines.contains { $0.hasPrefix("| e 3 workers on one PostgreSQL") && $0.contains("| 180 |") }, "\(output.stdout)")
        #expect(lines.filter { $0.hasSuffix("each number called once") }.count == 2, "\(output.stdout)")
        let postgres = lines.filter { $0.hasPrefix("e: 3 workers (CPU summed), PostgreSQL ") || $0.hasPrefix("e1: 1 worker (CPU summed), PostgreSQL ") }
        #expect(postgres.count == 2, "\(output.stdout)")
        #expect(lines.contains { $0.hasPrefix("target e: 3 workers ≥ 2.7× one worker's rate: ") }, "\(output.stdout)")
        // Queued scenarios: how often the call slots turn over (e: 3 workers × 64).
        #expect(lines.contains { $0.hasPrefix("e: the worker's AICC calls took ") && $0.contains("; 192 call slots at ") }, "\(output.stdout)")
        #expect(lines.contains { $0.hasPrefix("e1: the worker's AICC calls took ") && $0.contains("; 64 call slots at ") }, "\(output.stdout)")
        // Three workers, each with its own log, all in the one group on the one server.
        for index in 0..<3 {
            let log = try String(contentsOf: directory.appendingPathComponent("e/worker-\(index).log"), encoding: .utf8)
            #expect(log.contains("bench-e-worker-\(index)"), "worker \(index)")
        }
        // The server was stopped with the scenario.
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("e/postgres/postmaster.pid").path))
    }

    @Test("A second run into the same --keep directory starts from a fresh store")
    func keptDirectoryIsReused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-keep-\(UUID().uuidString.prefix(6))")
        defer { try? FileManager.default.removeItem(at: directory) }
        for _ in 0..<2 {
            let output = try ProcessSupport.run(
                ProcessSupport.binary, ["bench", "--scenarios", "a", "--scale", "0.005", "--no-ceiling", "--keep", directory.path])
            #expect(output.status == 0, "\(output.stdout)\n\(output.stderr)")
            #expect(output.stdout.contains("each number called once"), "\(output.stdout)")
        }
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("a/worker.log").path))
    }

    @Test("A bad --worker-executable or --store-synchronous is a usage error")
    func badWorkerOptions() throws {
        let missing = try ProcessSupport.run(ProcessSupport.binary, ["bench", "--worker-executable", "/nonexistent/worker.py"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent/worker.py is not an executable file"), "\(missing.stderr)")
        let level = try ProcessSupport.run(ProcessSupport.binary, ["bench", "--store-synchronous", "off"])
        #expect(level.status == 2)
        #expect(level.stderr.contains("--store-synchronous must be full or normal"), "\(level.stderr)")
    }

    @Test("An unknown scenario is a usage error")
    func unknownScenario() throws {
        let output = try ProcessSupport.run(ProcessSupport.binary, ["bench", "--scenarios", "a,x"])
        #expect(output.status == 2)
        #expect(output.stderr.contains("unknown scenario 'x'"), "\(output.stderr)")
        let part = try ProcessSupport.run(ProcessSupport.binary, ["bench", "--scenarios", "f", "--f-without", "callbacks,logs"])
        #expect(part.status == 2)
        #expect(part.stderr.contains("--f-without: unknown part 'logs'"), "\(part.stderr)")
    }
}
