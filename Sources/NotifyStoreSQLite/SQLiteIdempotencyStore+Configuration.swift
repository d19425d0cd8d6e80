public import NotifyStore

extension SQLiteIdempotencyStore {
    /// How the SQLite store opens and keeps its file.
    public struct Configuration: Sendable, Hashable {
        /// How hard each commit is pushed to disk (SQLite `synchronous`, in
        /// WAL mode); `store.url` sets it with `?synchronous=`.
        public typealias Synchronous = StoreURL.Synchronous

        /// The database file: absolute, or relative to the working directory.
        /// Its `-wal` and `-shm` companions live next to it. No default.
        public var path: String
        /// How long a key is remembered after completion (`store.retention`).
        /// Default 604 800 s (7 days).
        public var retention: Duration
        /// How often `run()` deletes keys past retention. Default 60 s.
        public var sweepInterval: Duration
        /// How long a statement waits for another process's lock on the file
        /// before failing with `store.unavailable`. Default 5 s.
        public var busyTimeout: Duration
        /// Commit durability. Default ``Synchronous/full``.
        public var synchronous: Synchronous

        /// Creates a configuration; every argument but `path` has the default
        /// documented on its property.
        public init(
            path: String, retention: Duration = .seconds(604_800), sweepInterval: Duration = .seconds(60),
            busyTimeout: Duration = .seconds(5), synchronous: Synchronous = .full
        ) {
            self.path = path
            self.retention = retention
            self.sweepInterval = sweepInterval
            self.busyTimeout = busyTimeout
            self.synchronous = synchronous
        }
    }
}
