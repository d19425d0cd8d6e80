/// An error from an ``IdempotencyStore``.
///
/// `code` is stable and label-safe: it is used verbatim in logs, metric labels
/// and result events. The codes are the static members below.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable, dotted, label-safe code.
    public var code: String
    /// Human-readable detail. May name files or hosts; never credentials.
    public var message: String
    /// The same operation may succeed if tried again later (the store was
    /// busy, unreachable or out of space). A worker pauses rather than
    /// rejecting requests on a retriable store error.
    public var isRetriable: Bool

    /// Creates an error.
    public init(code: String, message: String, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
    }

    public var description: String {
        "\(self.code): \(self.message)"
    }

    // MARK: Codes

    /// `store.unavailable` (retriable): the database cannot be reached or used
    /// right now — busy beyond the busy timeout, I/O error, disk full,
    /// connection lost.
    public static func unavailable(_ message: String) -> StoreError {
        StoreError(code: "store.unavailable", message: message, isRetriable: true)
    }

    /// `store.corrupt`: the file is not a database or its content is damaged.
    public static func corrupt(_ message: String) -> StoreError {
        StoreError(code: "store.corrupt", message: message)
    }

    /// `store.claim.lost`: the caller no longer holds the claim it acts on
    /// (another owner took it over after the lease expired, or the key was
    /// completed or swept). The caller must not publish its own outcome.
    public static func claimLost(_ message: String) -> StoreError {
        StoreError(code: "store.claim.lost", message: message)
    }

    /// Whether this is `store.claim.lost`.
    public var isClaimLost: Bool { self.code == "store.claim.lost" }

    /// `store.migration`: the schema cannot be brought to this build's
    /// version (a newer build wrote the file, or a migration failed).
    public static func migration(_ message: String) -> StoreError {
        StoreError(code: "store.migration", message: message)
    }

    /// `store.config.invalid`: a store setting (e.g. `store.url`) is malformed.
    public static func invalidConfiguration(_ message: String) -> StoreError {
        StoreError(code: "store.config.invalid", message: message)
    }

    /// `store.closed`: the store was shut down; no further operations.
    public static func closed(_ message: String = "the store is closed") -> StoreError {
        StoreError(code: "store.closed", message: message)
    }

    /// `store.internal`: the database refused a statement for a reason that is
    /// a bug in this code (constraint, misuse, malformed data).
    public static func `internal`(_ message: String) -> StoreError {
        StoreError(code: "store.internal", message: message)
    }
}
