/// A strict RFC 8259 JSON parser for untrusted record values.
///
/// Stricter than `JSONSerialization`, and never recursing without bound:
/// - the input must be valid UTF-8 without a byte-order mark (`decode.utf8`, `decode.json`);
/// - nesting is measured by a linear pre-scan before parsing and limited
///   (`decode.too_deep`; the root container is level 1);
/// - object keys must be unique (`decode.duplicate_key`);
/// - no `NaN`/`Infinity`, no comments, no trailing commas, no unescaped control
///   characters, no lone UTF-16 surrogates in `\u` escapes (`decode.json`).
///
/// It does not enforce a size limit; ``RequestDecoder`` does that first.
public struct StrictJSONParser: Sendable {
    /// Deepest allowed nesting of arrays and objects (the root container is level 1).
    public var maxDepth: Int

    /// Creates a parser with the given nesting limit.
    public init(maxDepth: Int = ContractLimits.maxDepth) {
        self.maxDepth = maxDepth
    }

    /// Parses `bytes` as one JSON text, or returns the single classified error.
    public func parse(_ bytes: [UInt8]) -> Result<JSONValue, ContractError> {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return .failure(ContractError(.decodeUTF8, path: JSONPointer.root, message: "the value is not valid UTF-8"))
        }
        let depth = Self.nestingDepth(of: bytes)
        if depth > maxDepth {
            return .failure(ContractError(.decodeTooDeep, path: JSONPointer.root,
                                          message: "JSON nesting is deeper than \(maxDepth) levels"))
        }
        var cursor = Cursor(bytes: bytes, maxDepth: maxDepth)
        do throws(ContractError) {
            cursor.skipWhitespace()
            let value = try cursor.parseValue(depth: 0, path: JSONPointer.root)
            cursor.skipWhitespace()
            if cursor.index != bytes.count {
                throw cursor.syntax("unexpected data after the JSON value")
            }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    /// Deepest nesting of `[`/`{` outside strings; linear, no recursion.
    /// Malformed input still gets a number (the scan does not validate).
    public static func nestingDepth(of bytes: [UInt8]) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > deepest { deepest = depth }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            default: break
            }
        }
        return deepest
    }
}

private struct Cursor {
    let bytes: [UInt8]
    let maxDepth: Int
    var index = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func syntax(_ message: String) -> ContractError {
        ContractError(.decodeJSON, path: JSONPointer.root, message: "not JSON: \(message) at byte \(index)")
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func expect(_ literal: StaticString) throws(ContractError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw syntax("unexpected end of input") }
        let start = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] {
            throw syntax("invalid literal")
        }
        index += count
    }

    mutating func parseValue(depth: Int, path: String) throws(ContractError) -> JSONValue {
        guard index < bytes.count else { throw syntax("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1, path: path)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1, path: path)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw syntax("unexpected character")
        }
    }

    mutating func checkDepth(_ depth: Int) throws(ContractError) {
        // The pre-scan already rejected deeper input; this guard keeps the
        // recursion bounded even if the two ever disagree.
        if depth > maxDepth {
            throw ContractError(.decodeTooDeep, path: JSONPointer.root,
                                message: "JSON nesting is deeper than \(maxDepth) levels")
        }
    }

    mutating func parseObject(depth: Int, path: String) throws(ContractError) -> JSONValue {
        try checkDepth(depth)
        index += 1  // {
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw syntax("expected a member name") }
            let key = try parseString()
            let memberPath = JSONPointer.appending(key, to: path)
            if members[key] != nil {
                throw ContractError(.decodeDuplicateKey, path: memberPath, message: "the object has this member more than once")
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw syntax("expected ':'") }
            index += 1
            skipWhitespace()
            members[key] = try parseValue(depth: depth, path: memberPath)
            skipWhitespace()
            guard index < bytes.count else { throw syntax("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            throw syntax("expected ',' or '}'")
        }
    }

    mutating func parseArray(depth: Int, path: String) throws(ContractError) -> JSONValue {
        try checkDepth(depth)
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth, path: JSONPointer.appending(elements.count, to: path)))
            skipWhitespace()
            guard index < bytes.count else { throw syntax("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            throw syntax("expected ',' or ']'")
        }
    }

    mutating func parseHex4() throws(ContractError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw syntax("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw syntax("invalid \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    mutating func parseString() throws(ContractError) -> String {
        index += 1  // opening quote
        var buffer: [UInt8] = []
        while true {
            guard index < bytes.count else { throw syntax("unterminated string") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                // The whole input was validated as UTF-8 and escapes append
                // well-formed scalars, so this decoding never repairs anything.
                return String(decoding: buffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw syntax("unterminated escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): buffer.append(0x22)
                case UInt8(ascii: "\\"): buffer.append(0x5C)
                case UInt8(ascii: "/"): buffer.append(0x2F)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw syntax("lone UTF-16 surrogate in \\u escape")
                        }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw syntax("lone UTF-16 surrogate in \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw syntax("lone UTF-16 surrogate in \\u escape")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw syntax("invalid \\u escape") }
                    buffer.append(contentsOf: String(scalar).utf8)
                default:
                    throw syntax("invalid escape")
                }
            case 0x00..<0x20:
                throw syntax("unescaped control character in string")
            default:
                buffer.append(byte)
                index += 1
            }
        }
    }

    mutating func parseNumber() throws(ContractError) -> Double {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func isDigit(_ position: Int) -> Bool {
            position < bytes.count && bytes[position] >= UInt8(ascii: "0") && bytes[position] <= UInt8(ascii: "9")
        }
        guard isDigit(index) else { throw syntax("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(index) { throw syntax("leading zero in number") }
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw syntax("invalid number") }
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw syntax("invalid number") }
            while isDigit(index) { index += 1 }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text) else { throw syntax("invalid number") }
        return value
    }
}
