/// Where the idempotency store lives: the parsed `store.url` setting.
public enum StoreURL: Sendable, Hashable {
    /// An embedded SQLite file. The path is kept as written: absolute, or
    /// relative to the process's working directory.
    case sqlite(path: String)
    /// A PostgreSQL server, `postgres://user:pass@host:port/db` (kept verbatim;
    /// the PostgreSQL store parses the rest).
    case postgres(url: String)

    /// Parses `store.url`: `sqlite:PATH` or `postgres://…` / `postgresql://…`.
    ///
    /// Throws `store.config.invalid` with a message naming `store.url` and
    /// what is wrong with it. The message never repeats a PostgreSQL URL, which
    /// may carry a password.
    public static func parse(_ text: String) throws(StoreError) -> StoreURL {
        let trimmed = text.trimmingWhitespace()
        if trimmed.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
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
            return .sqlite(path: path)
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
