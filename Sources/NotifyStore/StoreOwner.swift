/// Who holds a claim: a worker and one run (incarnation) of its process.
///
/// `worker` is the configured, stable worker id; `incarnation` is new each
/// time the process starts (a UUID). The pair tells apart a redelivery inside
/// the process that holds the claim (same incarnation: the call is in flight
/// here, wait) from the same worker restarted after a crash (other
/// incarnation: the old process is gone, the claim is in doubt at once,
/// without waiting for its lease to run out).
public struct StoreOwner: Sendable, Hashable, CustomStringConvertible {
    /// The stable worker id.
    public var worker: String
    /// This process run's id.
    public var incarnation: String

    /// Creates an owner.
    public init(worker: String, incarnation: String) {
        self.worker = worker
        self.incarnation = incarnation
    }

    public var description: String { "\(self.worker)/\(self.incarnation)" }
}
