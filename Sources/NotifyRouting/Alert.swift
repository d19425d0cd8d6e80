import Foundation
import NotifyCore

/// One alert, as Prometheus Alertmanager sends it (product §9).
public struct Alert: Sendable, Hashable {
    /// `firing` or `resolved`.
    public var status: String
    /// `labels`: the alert's identity.
    public var labels: [String: String]
    /// `annotations`: summary, description, ….
    public var annotations: [String: String]
    /// `startsAt`, RFC 3339, as sent.
    public var startsAt: String
    /// `fingerprint`, when the sender gives one.
    public var fingerprint: String?
    /// `generatorURL`, when given.
    public var generatorURL: String?

    public init(status: String, labels: [String: String], annotations: [String: String] = [:], startsAt: String,
                fingerprint: String? = nil, generatorURL: String? = nil) {
        self.status = status
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.fingerprint = fingerprint
        self.generatorURL = generatorURL
    }

    /// Its identity: the `fingerprint`, else a hash of its sorted labels.
    public var identity: String {
        if let fingerprint, !fingerprint.isEmpty { return fingerprint }
        let canonical = self.labels.keys.sorted().map { "\($0.utf8.count):\($0)=\(self.labels[$0]!.utf8.count):\(self.labels[$0]!)" }
            .joined(separator: "\n")
        return "labels:" + String(SHA256Digest.hexDigest(Array(canonical.utf8)).prefix(32))
    }
}

/// What an alert record holds: the alerts (one, or an Alertmanager
/// payload's), or why it is not an alert record.
public enum AlertRecord: Sendable, Hashable {
    case alerts([Alert])
    case notAlerts(code: String, message: String)

    /// Decodes a record of the alerts topic: an Alertmanager webhook payload
    /// (`"version": "4"`, `alerts: […]`), one alert object, or either as the
    /// data of a CloudEvent (binary mode `ce_*` headers, or structured
    /// `application/cloudevents+json`).
    public static func decode(value: [UInt8], headers: [(key: String, value: [UInt8]?)]) -> AlertRecord {
        let header = { (name: String) -> String? in
            headers.last { $0.key.lowercased() == name }?.value.flatMap { String(validating: $0, as: UTF8.self) }
        }
        guard let document = Self.parse(value) else {
            return .notAlerts(code: "alert.json", message: "not a JSON object (at most 64 KiB, strict JSON)")
        }
        var data = document
        let isStructured = header("content-type").map { $0.lowercased().hasPrefix("application/cloudevents+json") } ?? false
        if isStructured {
            guard case .object(let envelope) = document, case .object(let inner)? = envelope["data"] else {
                return .notAlerts(code: "alert.cloudevent", message: "a structured CloudEvent whose data is not an alert object")
            }
            data = .object(inner)
        }
        guard case .object(let object) = data else {
            return .notAlerts(code: "alert.json", message: "not a JSON object")
        }
        if let alerts = object["alerts"] {
            guard case .array(let items) = alerts else {
                return .notAlerts(code: "alert.payload", message: "alerts must be an array")
            }
            var decoded: [Alert] = []
            for (index, item) in items.enumerated() {
                switch Self.alert(item) {
                case .success(let alert): decoded.append(alert)
                case .failure(let message): return .notAlerts(code: "alert.payload", message: "alerts/\(index): \(message)")
                }
            }
            return .alerts(decoded)
        }
        switch Self.alert(.object(object)) {
        case .success(let alert): return .alerts([alert])
        case .failure(let message): return .notAlerts(code: "alert.invalid", message: message)
        }
    }

    private enum Decoded { case success(Alert), failure(String) }

    private static func alert(_ value: JSONValue) -> Decoded {
        guard case .object(let object) = value else { return .failure("an alert must be an object") }
        guard case .string(let status)? = object["status"], status == "firing" || status == "resolved" else {
            return .failure("status must be firing or resolved")
        }
        guard case .object(let rawLabels)? = object["labels"] else { return .failure("labels must be an object of strings") }
        var labels: [String: String] = [:]
        for (name, value) in rawLabels {
            guard case .string(let text) = value else { return .failure("labels.\(name) must be a string") }
            labels[name] = text
        }
        var annotations: [String: String] = [:]
        if let raw = object["annotations"] {
            guard case .object(let members) = raw else { return .failure("annotations must be an object of strings") }
            for (name, value) in members {
                guard case .string(let text) = value else { return .failure("annotations.\(name) must be a string") }
                annotations[name] = text
            }
        }
        guard case .string(let startsAt)? = object["startsAt"], RFC3339.parse(startsAt) != nil else {
            return .failure("startsAt must be an RFC 3339 time")
        }
        var fingerprint: String?
        if case .string(let value)? = object["fingerprint"] { fingerprint = value }
        var generatorURL: String?
        if case .string(let value)? = object["generatorURL"] { generatorURL = value }
        return .success(Alert(status: status, labels: labels, annotations: annotations, startsAt: startsAt,
                              fingerprint: fingerprint, generatorURL: generatorURL))
    }

    private static func parse(_ bytes: [UInt8]) -> JSONValue? {
        guard bytes.count <= ContractLimits.maxBytes, case .success(let value) = StrictJSONParser().parse(bytes) else { return nil }
        return value
    }
}
