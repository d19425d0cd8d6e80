import NIOCore

/// The flat JSON body of `createVoiceNotification` (aicc-api.md §2), written
/// straight into a `ByteBuffer`: the create call is on every request's path,
/// and Foundation's `JSONEncoder` was 1.5 % of the worker's CPU for it
/// (issue 25, BENCHMARKS.md). Each string is written byte for byte as
/// `JSONEncoder` (with `.withoutEscapingSlashes`) writes it; the keys come in
/// the declared order (`JSONEncoder`'s order is unspecified), absent fields
/// left out. `CreateBodyTests` holds the two together.
struct CreateBody: Sendable, Encodable {
    var voiceContent: String
    var callerPresent: String?
    var called: String
    var callBackUrl: String?
    var priority: String?

    /// The JSON text.
    var buffer: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(64 + self.voiceContent.utf8.count + (self.callBackUrl?.utf8.count ?? 0))
        buffer.writeStaticString("{\"voiceContent\":")
        Self.writeString(self.voiceContent, to: &buffer)
        if let callerPresent = self.callerPresent {
            buffer.writeStaticString(",\"callerPresent\":")
            Self.writeString(callerPresent, to: &buffer)
        }
        buffer.writeStaticString(",\"called\":")
        Self.writeString(self.called, to: &buffer)
        if let callBackUrl = self.callBackUrl {
            buffer.writeStaticString(",\"callBackUrl\":")
            Self.writeString(callBackUrl, to: &buffer)
        }
        if let priority = self.priority {
            buffer.writeStaticString(",\"priority\":")
            Self.writeString(priority, to: &buffer)
        }
        buffer.writeStaticString("}")
        return buffer
    }

    /// A JSON string literal as `JSONEncoder` writes it: `"` and `\` escaped,
    /// control characters as `\b \f \n \r \t` or `\u00xx`, everything else
    /// (slashes and non-ASCII included) as its UTF-8 bytes.
    static func writeString(_ string: String, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var start = string.utf8.startIndex
        var index = start
        let utf8 = string.utf8
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                index = utf8.index(after: index)
                continue
            }
            buffer.writeBytes(utf8[start..<index])
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case 0x08: buffer.writeStaticString("\\b")
            case 0x0C: buffer.writeStaticString("\\f")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
            index = utf8.index(after: index)
            start = index
        }
        buffer.writeBytes(utf8[start..<index])
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
