/// Masks phone numbers for logs, CLI output and anything else a person reads:
/// every digit but the last four becomes `*` (`+8613812345678` →
/// `+*********5678`). Numbers of four digits or fewer are masked entirely.
/// Non-digit characters (`+`, spaces, dashes) are kept so the shape stays
/// recognisable.
public enum PhoneNumberMask {
    /// Digits kept at the end.
    public static let visibleDigits = 4

    public static func mask(_ number: String) -> String {
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
