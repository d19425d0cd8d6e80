/// Splits JSON Lines input (one JSON document per line) for `validate -` and
/// `.jsonl` files.
public enum JSONLines {
    /// One non-blank line.
    public struct Line: Sendable, Hashable {
        /// 1-based line number.
        public var number: Int
        /// The line's bytes, without the line break (`\n` or `\r\n`).
        public var bytes: [UInt8]

        public init(number: Int, bytes: [UInt8]) {
            self.number = number
            self.bytes = bytes
        }
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

extension JSONLines {
    /// Splits JSON Lines arriving in chunks, keeping at most `limit` bytes of
    /// a line: past that the rest of the line is only counted, so a huge line
    /// costs no more memory than the limit (`validate` on a 200 MB line).
    public struct Splitter: Sendable {
        /// One non-blank line, or the length of one that passed the limit.
        public enum Item: Sendable, Hashable {
            case line(Line)
            /// 1-based line number and the line's full length in bytes.
            case tooLong(number: Int, length: Int)
        }

        /// Bytes kept per line; a longer line becomes ``Item/tooLong(number:length:)``.
        public let limit: Int
        private var current: [UInt8] = []
        private var length = 0
        private var number = 0

        public init(limit: Int) {
            self.limit = limit
        }

        /// Feeds a chunk; returns the lines it completed.
        public mutating func feed<Bytes: Collection>(_ chunk: Bytes) -> [Item] where Bytes.Element == UInt8 {
            var items: [Item] = []
            var rest = chunk[...]
            while let newline = rest.firstIndex(of: 0x0A) {
                self.append(rest[..<newline])
                if let item = self.endLine() { items.append(item) }
                rest = rest[rest.index(after: newline)...]
            }
            self.append(rest)
            return items
        }

        /// The input ended: the last line, if it had no line break.
        public mutating func finish() -> [Item] {
            guard self.length > 0 else { return [] }
            return self.endLine().map { [$0] } ?? []
        }

        private mutating func append<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
            let room = self.limit + 2 - self.current.count  // + "\r" and one byte to know it is over
            if room > 0 { self.current.append(contentsOf: bytes.prefix(room)) }
            self.length += bytes.count
        }

        private mutating func endLine() -> Item? {
            self.number += 1
            defer {
                self.current.removeAll(keepingCapacity: self.current.count <= 4096)
                self.length = 0
            }
            var line = self.current
            var length = self.length
            if line.last == 0x0D, length == line.count {
                line.removeLast()
                length -= 1
            }
            if length > self.limit {
                return .tooLong(number: self.number, length: length)
            }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
            return .line(Line(number: self.number, bytes: line))
        }
    }
}
