import Crypto
import Foundation

/// The vendor's status-report signature (aicc-api.md §3), as the simulator signs it.
///
/// 1. Take every body field except `timestamp`, `nonce` and `signature`.
/// 2. Sort by name (Java `TreeMap` order: UTF-16 code units) and join as
///    `name=value` with `,` — the vendor builds this from the map's `toString()`
///    with every space removed, so spaces inside names and values vanish too.
/// 3. Sign `sharedKey + "_" + timestamp + "_" + nonce + "_" + joined`.
/// 4. Digest: HMAC-SHA256 keyed with the shared key (default; the vendor's code
///    imports an HMAC class), or plain SHA-256 of the string (selectable: the
///    text only says "SHA256"). Base64 (standard alphabet, padded).
public enum CallbackSignature {
    /// The digest behind the signature.
    public enum Algorithm: String, Sendable, Hashable, Codable, CaseIterable {
        /// HMAC-SHA256 keyed with the shared key (default).
        case hmacSHA256 = "hmac-sha256"
        /// SHA-256 of the string to sign (which starts with the shared key).
        case sha256 = "sha256"
    }

    /// The unit of the `timestamp` field (the vendor page does not say; a Java `long`).
    public enum TimestampUnit: String, Sendable, Hashable, Codable, CaseIterable {
        case milliseconds
        case seconds
    }

    /// The `name=value,...` text of step 2.
    public static func canonicalFields(_ fields: [String: String]) -> String {
        fields
            .filter { !["timestamp", "nonce", "signature"].contains($0.key) }
            .sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
            .map { "\($0.key)=\($0.value)" }
            .joined(separator: ",")
            .replacingOccurrences(of: " ", with: "")
    }

    /// The string of step 3.
    public static func stringToSign(fields: [String: String], sharedKey: String, timestamp: String, nonce: String) -> String {
        "\(sharedKey)_\(timestamp)_\(nonce)_\(canonicalFields(fields))"
    }

    /// The Base64 signature of a report's fields.
    public static func sign(
        fields: [String: String],
        sharedKey: String,
        timestamp: String,
        nonce: String,
        algorithm: Algorithm = .hmacSHA256
    ) -> String {
        let message = Data(stringToSign(fields: fields, sharedKey: sharedKey, timestamp: timestamp, nonce: nonce).utf8)
        switch algorithm {
        case .hmacSHA256:
            let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(sharedKey.utf8)))
            return Data(mac).base64EncodedString()
        case .sha256:
            return Data(SHA256.hash(data: message)).base64EncodedString()
        }
    }
}
