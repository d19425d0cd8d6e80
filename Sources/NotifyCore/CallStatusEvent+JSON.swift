extension CallStatusEvent {
    /// The call-status event as compact JSON, written directly (no
    /// `JSONEncoder` pass per status report, as for the result event).
    ///
    /// The same document `JSONEncoder` with `.sortedKeys` and
    /// `.withoutEscapingSlashes` writes for ``encode(to:)``: keys in sorted
    /// order, optional members absent when `nil`, `receivedAt` as RFC 3339
    /// text. Strings are escaped by ``JSONText/appendString(_:to:)`` (the
    /// differences from Foundation are listed on
    /// ``NotificationResult/jsonBytes``). `EventEncodingTests` holds the two
    /// to that agreement.
    public var jsonBytes: [UInt8] {
        var out = ""
        out.reserveCapacity(512)
        out += "{\"attributes\":"
        JSONText.appendSortedObject(self.attributes, to: &out)
        out += ",\"callSerialNo\":"
        JSONText.appendString(self.callSerialNo, to: &out)
        out += ",\"idempotencyKey\":"
        JSONText.appendString(self.idempotencyKey, to: &out)
        if let playedToEnd = self.playedToEnd {
            out += playedToEnd ? ",\"playedToEnd\":true" : ",\"playedToEnd\":false"
        }
        out += ",\"raw\":"
        JSONText.appendSortedObject(self.raw, to: &out)
        out += ",\"receivedAt\":"
        JSONText.appendString(RFC3339.format(self.receivedAt), to: &out)
        if let releaseReason = self.releaseReason {
            out += ",\"releaseReason\":"
            JSONText.appendString(releaseReason, to: &out)
        }
        out += ",\"requestId\":"
        JSONText.appendString(self.requestId, to: &out)
        out += ",\"status\":"
        JSONText.appendString(self.status.rawValue, to: &out)
        if let talkDurationSeconds = self.talkDurationSeconds {
            out += ",\"talkDurationSeconds\":"
            out += String(talkDurationSeconds)
        }
        out += "}"
        return Array(out.utf8)
    }
}

extension NotificationResult {
    /// The `attributes` of a result event stored as JSON (``jsonBytes``),
    /// read without decoding the rest of it; `[:]` when the bytes are not a
    /// result event or carry none.
    public static func attributes(inJSON bytes: [UInt8]) -> [String: String] {
        guard case .success(let value) = StrictJSONParser().parse(bytes),
              let attributes = value.objectValue?["attributes"]?.objectValue
        else { return [:] }
        var result: [String: String] = [:]
        result.reserveCapacity(attributes.count)
        for (key, value) in attributes {
            guard let string = value.stringValue else { return [:] }
            result[key] = string
        }
        return result
    }
}
