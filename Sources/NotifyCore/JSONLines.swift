/// Splits JSON Lines input (one JSON document per line) for `validate -` and
/// `.jsonl` files.
public enum JSONLines {
    /// One non-blank line.
    public struct Line: Sendable, Hashable {
        /// 1-based line number.
        public var number: Int
        /// The line's bytes, without the line break (`\n` or `\r\n`).
        public var bytes: [UInt8]
    }

    /// The non-blank lines of `bytes`; lines holding only spaces, tabs or `\r`
    /// are skipped (they are not documents).
    public static func lines(_ bytes: [UInt8]) -> [Line] {
        var result: [Line] = []
        var number = 0
        for slice in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            var line = Array(slice)
            if line.last == 0x0D { line.removeLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            result.append(Line(number: number, bytes: line))
        }
        return result
    }
}
