/// Builds RFC 6901 JSON Pointers for ``ContractError/path``.
public enum JSONPointer {
    /// The pointer to the whole document.
    public static let root = ""

    /// Appends one reference token, escaping `~` as `~0` and `/` as `~1`.
    public static func appending(_ token: String, to pointer: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(token.utf8.count)
        for character in token.unicodeScalars {
            switch character {
            case "~": escaped += "~0"
            case "/": escaped += "~1"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return pointer + "/" + escaped
    }

    /// Appends an array index.
    public static func appending(_ index: Int, to pointer: String) -> String {
        pointer + "/" + String(index)
    }
}
