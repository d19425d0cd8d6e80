import Foundation
import NotifyCore
import NotifyStore
import NotifyStoreSQLite
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
        #expect(try sqlite(directory.path("store.db"), "SELECT group_concat(version) FROM schema_migrations;") == "1,2,3,4")
        #expect(try sqlite(directory.path("store.db"), "PRAGMA journal_mode;") == "wal")
    }

    /// A file written by the first schema (before storm protection) is
    /// brought to the latest version and keeps its keys; the salt it gets is kept
    /// across opens, and storm slots hold no phone number.
    @Test func aVersionOneFileMigratesAndSlotsHoldNoNumber() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("v1.db")
        let configuration = SQLiteIdempotencyStore.Configuration(path: path)
        let first = try await SQLiteIdempotencyStore(configuration: configuration, logger: quietLogger)
        let done = try await StoreContract.complete(first, "r1", outcome: StoreContract.outcome(.accepted, serial: "S-1"))
        await first.close()
        // Make it a version-1 file again.
        for statement in [
            "DROP TABLE escalations", "DROP TABLE storm_slots", "DROP TABLE store_meta", "DELETE FROM schema_migrations WHERE version >= 2",
            "ALTER TABLE idempotency_keys DROP COLUMN trace_parent", "ALTER TABLE idempotency_keys DROP COLUMN trace_state",
        ] {
            _ = try sqlite(path, statement)
        }
        let migrated = try await SQLiteIdempotencyStore(configuration: configuration, logger: quietLogger)
        #expect(try await migrated.lookup(key: "key-1") == done)
        #expect(try await migrated.claim(StoreContract.stormRequest("r2", key: "k-2", called: "+8613912345678")).kind == "claimed")
        await migrated.close()
        #expect(try sqlite(path, "SELECT group_concat(version) FROM schema_migrations;") == "1,2,3,4")
        let salt = try sqlite(path, "SELECT value FROM store_meta WHERE name = 'storm.salt'")
        #expect(salt.count == 64)
        let hash = try sqlite(path, "SELECT number_hash FROM storm_slots WHERE key = 'k-2'")
        #expect(hash == StormSlots.numberHash("+8613912345678", salt: salt))
        #expect(!hash.contains("12345678"))
        #expect(try sqlite(path, "SELECT count(*) FROM storm_slots WHERE number_hash LIKE '%13912345678%'") == "0")
        let reopened = try await SQLiteIdempotencyStore(configuration: configuration, logger: quietLogger)
        await reopened.close()
        #expect(try sqlite(path, "SELECT value FROM store_meta WHERE name = 'storm.salt'") == salt)
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
