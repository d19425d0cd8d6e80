public import Foundation

/// How the stores keep times: whole milliseconds since 1970 (SQLite
/// `INTEGER`, PostgreSQL `bigint`), so that both answer with equal records.
public enum StoreTime {
    /// Milliseconds since 1970.
    public static func millis(_ date: Date) -> Int {
        Int((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// The date of `millis` since 1970.
    public static func date(_ millis: Int) -> Date {
        Date(timeIntervalSince1970: TimeInterval(millis) / 1000)
    }

    /// `date` rounded to the stored precision.
    public static func stored(_ date: Date) -> Date {
        Self.date(Self.millis(date))
    }
}

extension StoredRecord {
    /// The record with its times rounded to what a store keeps.
    public var roundedToStoredPrecision: StoredRecord {
        var record = self
        record.claimedAt = StoreTime.stored(record.claimedAt)
        record.leaseExpiresAt = record.leaseExpiresAt.map(StoreTime.stored)
        record.completedAt = record.completedAt.map(StoreTime.stored)
        return record
    }
}

extension ClaimResult {
    /// The answer with its records' times rounded to what a store keeps, so
    /// that a later `lookup(key:)` returns equal records.
    public var roundedToStoredPrecision: ClaimResult {
        switch self {
        case .claimed(let record): .claimed(record.roundedToStoredPrecision)
        case .completed(let record): .completed(record.roundedToStoredPrecision)
        case .duplicate(let record): .duplicate(record.roundedToStoredPrecision)
        case .conflict(let record): .conflict(record.roundedToStoredPrecision)
        case .inFlight(let record): .inFlight(record.roundedToStoredPrecision)
        case .suppressed(let record): .suppressed(record.roundedToStoredPrecision)
        case .inDoubt(let previous, let current):
            .inDoubt(previous: previous.roundedToStoredPrecision, current: current.roundedToStoredPrecision)
        case .claimedInDoubt(let previous, let current):
            .claimedInDoubt(previous: previous.roundedToStoredPrecision, current: current.roundedToStoredPrecision)
        }
    }
}
