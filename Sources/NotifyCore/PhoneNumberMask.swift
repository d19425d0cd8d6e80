/// Masks phone numbers for logs, CLI output and anything else a person reads:
/// every digit but the last four becomes `*` (`+8613812345678` →
/// `+*********5678`). Numbers of four digits or fewer are masked entirely.
/// Non-digit characters (`+`, spaces, dashes) are kept so the shape stays
/// recognisable.
public enum PhoneNumberMask {
    /// Digits kept at the end.
    public static let visibleDigits = 4

    public static func mask(_ number: String) -> String {
        var utf8 = number
        if let masked = utf8.withUTF8(Self.maskASCII) { return masked }
        return Self.maskScalars(number)
    }

    /// The ASCII case, byte by byte (a digit is `0`–`9`: no other ASCII
    /// character has a numeric type); `nil` when `bytes` is not all ASCII.
    private static func maskASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var digitCount = 0
        for byte in bytes {
            if byte >= 0x80 { return nil }
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") { digitCount += 1 }
        }
        let keep = digitCount > Self.visibleDigits ? Self.visibleDigits : 0
        return String(unsafeUninitializedCapacity: bytes.count) { out in
            var seen = 0
            for (index, byte) in bytes.enumerated() {
                if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    seen += 1
                    out[index] = seen > digitCount - keep ? byte : UInt8(ascii: "*")
                } else {
                    out[index] = byte
                }
            }
            return bytes.count
        }
    }

    /// Any Unicode text: a digit is a scalar with a numeric type.
    private static func maskScalars(_ number: String) -> String {
        let digitCount = number.unicodeScalars.filter { $0.properties.numericType != nil }.count
        let keep = digitCount > Self.visibleDigits ? Self.visibleDigits : 0
        var seen = 0
        var result = String.UnicodeScalarView()
        for scalar in number.unicodeScalars {
            guard scalar.properties.numericType != nil else {
                result.append(scalar)
                continue
            }
            seen += 1
            result.append(seen > digitCount - keep ? scalar : "*")
        }
        return String(result)
    }
}
