import Foundation
import NotifyCore
import NotifyStore
import Testing

@Suite struct SQLiteMigrationTests {
    @Test func reopeningIsANoOpAndKeepsData() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = SQLiteIdempotencyStore.Configuration(path: directory.path("store.db"))
        let first = try await SQLiteIdempotencyStore(configuration: configuration, logger: quietLogger)
        let done = try await StoreContract.complete(first, "r1", outcome: StoreContract.outcome(.accepted, serial: "S-1"))
        await first.close()
        for _ in 0..<2 {
            let again = try await SQLiteIdempotencyStore(configuration: configuration, logger: quietLogger)
            #expect(try await again.lookup(key: "key-1") == done)
            await again.close()
        }
        #expect(try sqlite(directory.path("store.db"), "SELECT group_concat(version) FROM schema_migrations;") == "1")
        #expect(try sqlite(directory.path("store.db"), "PRAGMA journal_mode;") == "wal")
    }

    @Test func aFutureSchemaVersionIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = SQLiteIdempotencyStore.Configuration(path: directory.path("store.db"))
        let created = try await SQLiteIdempotencyStore(configuration: configuration, logger: quietLogger)
        await created.close()
        _ = try sqlite(directory.path("store.db"), "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0);")
        await expectStoreError("store.migration") {
            _ = try await SQLiteIdempotencyStore(configuration: configuration, logger: quietLogger)
        }
    }

    @Test func aFileThatIsNotADatabaseIsCorrupt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("garbage.db")
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path))
        await expectStoreError("store.corrupt") {
            _ = try await SQLiteIdempotencyStore(configuration: .init(path: path), logger: quietLogger)
        }
    }

    @Test func aMissingDirectoryIsUnavailable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        await expectStoreError("store.unavailable") {
            _ = try await SQLiteIdempotencyStore(configuration: .init(path: directory.path("no/such/dir/store.db")), logger: quietLogger)
        }
    }

    /// Runs one statement with Python's sqlite3 module (an independent reader
    /// of the file format) and returns the first column of the first row.
    func sqlite(_ path: String, _ statement: String) throws -> String {
        let script = """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            row = c.execute(sys.argv[2]).fetchone()
            print('' if row is None or row[0] is None else row[0])
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path, statement]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 sqlite3 failed for \(statement)")
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
