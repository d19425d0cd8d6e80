import NotifyStore
import Testing

@Suite struct StoreURLTests {
    @Test func sqlitePaths() throws {
        #expect(try StoreURL.parse("sqlite:aicc-notify.db") == .sqlite(path: "aicc-notify.db"))
        #expect(try StoreURL.parse("sqlite:/var/lib/aicc/store.db") == .sqlite(path: "/var/lib/aicc/store.db"))
        #expect(try StoreURL.parse("sqlite:///var/lib/aicc/store.db") == .sqlite(path: "/var/lib/aicc/store.db"))
        #expect(try StoreURL.parse("  sqlite:data/store.db \n") == .sqlite(path: "data/store.db"))
    }

    @Test func sqliteSynchronousIsAnOption() throws {
        #expect(try StoreURL.parse("sqlite:a.db") == .sqlite(path: "a.db", synchronous: .full))
        #expect(try StoreURL.parse("sqlite:a.db?synchronous=normal") == .sqlite(path: "a.db", synchronous: .normal))
        #expect(try StoreURL.parse("sqlite:/x/a.db?synchronous=FULL") == .sqlite(path: "/x/a.db", synchronous: .full))
    }

    @Test(arguments: ["sqlite:a.db?synchronous=off", "sqlite:a.db?sync=normal", "sqlite:a.db?synchronous", "sqlite:?synchronous=normal"])
    func invalidSQLiteOptions(_ text: String) async {
        await expectStoreError("store.config.invalid") { _ = try StoreURL.parse(text) }
    }

    @Test func postgresURLsAreKeptVerbatim() throws {
        let url = "postgres://notify:secret@db:5432/notify"
        #expect(try StoreURL.parse(url) == .postgres(url: url))
        #expect(try StoreURL.parse("postgresql://db/notify") == .postgres(url: "postgresql://db/notify"))
    }

    @Test(arguments: ["", "sqlite:", "mysql://db/x", "aicc-notify.db", "postgres://", "postgres:///db"])
    func invalid(_ text: String) async {
        await expectStoreError("store.config.invalid") { _ = try StoreURL.parse(text) }
    }

    @Test func errorsNeverRepeatAPassword() {
        do {
            _ = try StoreURL.parse("redis://user:hunter2@host")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("store.url"))
            #expect(!error.message.contains("hunter2"))
        }
    }
}
