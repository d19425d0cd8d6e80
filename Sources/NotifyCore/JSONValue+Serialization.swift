extension JSONValue {
    /// The value as compact JSON (UTF-8, object keys sorted, integral numbers
    /// without a fraction, strings escaped per RFC 8259).
    public var serialized: [UInt8] {
        var out = ""
        self.append(to: &out)
        return Array(out.utf8)
    }

    private func append(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let value):
            out += value == value.rounded() && abs(value) < 9.007_199_254_740_992e15 ? String(Int64(value)) : String(value)
        case .string(let value): JSONText.appendString(value, to: &out)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.append(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                JSONText.appendString(key, to: &out)
                out += ":"
                members[key]!.append(to: &out)
            }
            out += "}"
        }
    }
}

/// JSON text pieces shared by every JSON writer of the project (events, logs).
public enum JSONText {
    /// Appends a string-to-string object, keys in sorted order (as
    /// `JSONEncoder` writes it with `.sortedKeys`).
    public static func appendSortedObject(_ object: [String: String], to out: inout String) {
        out += "{"
        for (index, member) in object.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out += "," }
            appendString(member.key, to: &out)
            out += ":"
            appendString(member.value, to: &out)
        }
        out += "}"
    }

    /// Appends `string` as a JSON string literal (RFC 8259 escaping; U+2028
    /// and U+2029 escaped too, so that the text is also safe in JavaScript).
    public static func appendString(_ string: String, to out: inout String) {
        out += "\""
        if !needsEscaping(string) {
            // The common case (ids, keys, numbers, masked phone numbers): one append.
            out += string
            out += "\""
            return
        }
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let control where control.value < 0x20 || control.value == 0x7F || (0x2028...0x2029).contains(control.value):
                let hex = String(control.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Whether some character of `string` is escaped by ``appendString(_:to:)``:
    /// a quote, a backslash, a control character, DEL, or U+2028/U+2029 (UTF-8
    /// `E2 80 A8`/`E2 80 A9`; any `E2` lead byte sends the string the slow way).
    static func needsEscaping(_ string: String) -> Bool {
        var string = string
        return string.withUTF8 { bytes in
            for byte in bytes where byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F || byte == 0xE2 {
                return true
            }
            return false
        }
    }
}
