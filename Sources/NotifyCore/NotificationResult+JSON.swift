extension NotificationResult {
    /// The result event as compact JSON, written directly (no `JSONEncoder`
    /// pass: it was ~5 % of the worker's CPU per request, BENCHMARKS.md).
    ///
    /// The same document `JSONEncoder` with `.sortedKeys` and
    /// `.withoutEscapingSlashes` writes for ``encode(to:)``: keys in sorted
    /// order, optional members absent when `nil`, dates as RFC 3339 text.
    /// Strings are escaped by ``JSONText/appendString(_:to:)``, which writes
    /// U+0008 and U+000C as `\u0008`/`\u000c` (Foundation: `\b`/`\f`) and
    /// also escapes U+007F, U+2028 and U+2029 (Foundation leaves them raw):
    /// the same JSON value, and byte for byte the same text for every other
    /// string.
    /// `NotificationResultJSONTests` holds the two to that agreement.
    public var jsonBytes: [UInt8] {
        var out = ""
        out.reserveCapacity(384)
        out += "{"
        if let aicc = self.aicc {
            out += "\"aicc\":{\"httpStatus\":"
            out += String(aicc.httpStatus)
            if let retCode = aicc.retCode {
                out += ",\"retCode\":"
                JSONText.appendString(retCode, to: &out)
            }
            if let retMsg = aicc.retMsg {
                out += ",\"retMsg\":"
                JSONText.appendString(retMsg, to: &out)
            }
            out += "},"
        }
        out += "\"attempts\":"
        out += String(self.attempts)
        out += ",\"attributes\":"
        JSONText.appendSortedObject(self.attributes, to: &out)
        if let callSerialNo = self.callSerialNo {
            out += ",\"callSerialNo\":"
            JSONText.appendString(callSerialNo, to: &out)
        }
        out += ",\"completedAt\":"
        JSONText.appendString(RFC3339.format(self.completedAt), to: &out)
        if let duplicateOf = self.duplicateOf {
            out += ",\"duplicateOf\":{\"outcome\":"
            JSONText.appendString(duplicateOf.outcome.rawValue, to: &out)
            out += ",\"requestId\":"
            JSONText.appendString(duplicateOf.requestId, to: &out)
            out += "}"
        }
        if let error = self.error {
            out += ",\"error\":{\"code\":"
            JSONText.appendString(error.code, to: &out)
            out += ",\"message\":"
            JSONText.appendString(error.message, to: &out)
            out += "}"
        }
        out += ",\"idempotencyKey\":"
        JSONText.appendString(self.idempotencyKey, to: &out)
        out += ",\"outcome\":"
        JSONText.appendString(self.outcome.rawValue, to: &out)
        out += ",\"receivedAt\":"
        JSONText.appendString(RFC3339.format(self.receivedAt), to: &out)
        out += ",\"requestId\":"
        JSONText.appendString(self.requestId, to: &out)
        out += ",\"source\":{\"offset\":"
        out += String(self.source.offset)
        out += ",\"partition\":"
        out += String(self.source.partition)
        out += ",\"topic\":"
        JSONText.appendString(self.source.topic, to: &out)
        out += "}}"
        return Array(out.utf8)
    }
}
