/// Where the idempotency store lives: the parsed `store.url` setting.
public enum StoreURL: Sendable, Hashable {
    /// How hard each commit of the embedded store is pushed to disk (SQLite
    /// `synchronous`, in WAL mode): `sqlite:PATH?synchronous=normal`.
    public enum Synchronous: String, Sendable, Hashable, CaseIterable {
        /// `FULL`: every commit is fsynced before it returns. A claim
        /// survives a kill -9 of the process *and* a power loss or kernel
        /// crash. The default: a claim lost to a power cut could let a
        /// redelivered request call twice.
        case full
        /// `NORMAL`: commits reach the OS before they return, the WAL is
        /// fsynced at checkpoints. Survives a kill -9 of the process; the
        /// last commits may be lost on power loss or a kernel crash.
        case normal
    }

    /// An embedded SQLite file. The path is kept as written: absolute, or
    /// relative to the process's working directory.
    case sqlite(path: String, synchronous: Synchronous = .full)
    /// A PostgreSQL server, `postgres://user:pass@host:port/db` (kept verbatim;
    /// the PostgreSQL store parses the rest).
    case postgres(url: String)

    /// Parses `store.url`: `sqlite:PATH` (optionally `?synchronous=full` or
    /// `?synchronous=normal`) or `postgres://…` / `postgresql://…`.
    ///
    /// Throws `store.config.invalid` with a message naming `store.url` and
    /// what is wrong with it. The message never repeats a PostgreSQL URL, which
    /// may carry a password.
    public static func parse(_ text: String) throws(StoreError) -> StoreURL {
        let trimmed = text.trimmingWhitespace()
        if trimmed.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
            var synchronous = Synchronous.full
            if let question = path.firstIndex(of: "?") {
                let query = path[path.index(after: question)...]
                path = String(path[..<question])
                for parameter in query.split(separator: "&", omittingEmptySubsequences: true) {
                    let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2, parts[0] == "synchronous" else {
                        throw .invalidConfiguration(
                            "store.url: unknown SQLite option `\(parts[0].prefix(32))`; the one option is synchronous=full|normal")
                    }
                    guard let value = Synchronous(rawValue: parts[1].lowercased()) else {
                        throw .invalidConfiguration(
                            "store.url: synchronous=`\(parts[1].prefix(32))` is not full or normal")
                    }
                    synchronous = value
                }
            }
            // Tolerate the URL-style spelling sqlite:///abs/path and sqlite://rel.
            if path.hasPrefix("///") {
                path = String(path.dropFirst(2))
            } else if path.hasPrefix("//") {
                path = String(path.dropFirst(2))
            }
            guard !path.isEmpty else {
                throw .invalidConfiguration("store.url: `sqlite:` needs a file path, e.g. sqlite:aicc-notify.db or sqlite:/var/lib/aicc-notify/store.db")
            }
            guard !path.utf8.contains(0) else {
                throw .invalidConfiguration("store.url: the SQLite path contains a NUL byte")
            }
            return .sqlite(path: path, synchronous: synchronous)
        }
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            let rest = trimmed.drop(while: { $0 != "/" }).dropFirst(2)
            guard !rest.isEmpty, !rest.hasPrefix("/") else {
                throw .invalidConfiguration("store.url: a postgres URL needs a host, e.g. postgres://user:pass@host:5432/db")
            }
            return .postgres(url: trimmed)
        }
        if trimmed.isEmpty {
            throw .invalidConfiguration("store.url is empty; use sqlite:PATH or postgres://user:pass@host:port/db")
        }
        let scheme = trimmed.split(separator: ":", maxSplits: 1).first.map(String.init) ?? trimmed
        throw .invalidConfiguration(
            "store.url: unsupported scheme `\(scheme.prefix(32))`; use sqlite:PATH or postgres://user:pass@host:port/db")
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = self.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
