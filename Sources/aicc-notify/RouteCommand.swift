import ArgumentParser
import Foundation
import NotifyRouting

/// `aicc-notify route --rules FILE [ALERT.json | -]`: the notification-requests
/// the alerts would produce, one JSON line each (no Kafka, no AICC); with
/// `--check`, only loads the rules (exit 0 ok, 2 invalid).
struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Print the notification-requests that alerts would produce under a rules file.",
        discussion: """
            ALERT is an Alertmanager webhook payload or one alert object (also as a CloudEvent's \
            data); '-' or no ALERT reads standard input. Prints one notification-request per line \
            (`aicc-notify validate -` accepts them) and, on standard error, what became of each alert \
            (routed, resolved, unmatched). --check only loads the rules. Exit: 0 ok, 1 the input is \
            not alerts, 2 the rules do not load (the message names the route) or a usage error. \
            expiresAt counts the route's ttl from now. Keys are the worker's: with \
            AICC_NOTIFY_ROUTING_KEY_SECRET (or ..._FILE) set as for `run`, HMACs under routing.keySecret. \
            --explain prints instead, for each alert and route it matches, the plan: each step's \
            recipients (masked), when it rings, its priority, ttl and voice, and the escalation's wait \
            and answered reasons.
            """
    )

    @Option(help: "The routing rules file (YAML), as routing.file.")
    var rules: String

    @Flag(help: "Only load the rules: exit 0 when they load, 2 naming the problem.")
    var check = false

    @Flag(help: "Print the plan (each step's masked recipients, wait and voice) instead of the requests.")
    var explain = false

    @Argument(help: "An alert JSON file, or '-' for standard input (the default).")
    var alert: String?

    /// `routing.keySecret` as `run` reads it: `AICC_NOTIFY_ROUTING_KEY_SECRET`,
    /// or the file named by `…_FILE` (one trailing newline dropped).
    static func keySecret(_ environment: [String: String]) throws -> String? {
        let name = "AICC_NOTIFY_ROUTING_KEY_SECRET"
        switch (environment[name], environment[name + "_FILE"]) {
        case (.some, .some):
            FileHandle.standardError.write(Data("aicc-notify: config.invalid: routing.keySecret: set \(name) or \(name)_FILE, not both\n".utf8))
            throw ExitCode(2)
        case (.some(let value), nil):
            return value
        case (nil, .some(let path)):
            guard let data = FileManager.default.contents(atPath: path), var value = String(data: data, encoding: .utf8) else {
                FileHandle.standardError.write(Data("aicc-notify: config.invalid: routing.keySecret: cannot read \(name)_FILE\n".utf8))
                throw ExitCode(2)
            }
            if value.hasSuffix("\n") { value.removeLast() }
            return value
        case (nil, nil):
            return nil
        }
    }

    func run() async throws {
        let loaded: RoutingRules
        do {
            loaded = try RoutingRules.load(path: self.rules)
        } catch {
            FileHandle.standardError.write(Data("aicc-notify: \(error.code): \(self.rules): \(error)\n".utf8))
            throw ExitCode(2)
        }
        if self.check {
            print("\(self.rules): \(loaded.routes.count) route(s) loaded")
            return
        }
        let data: Data
        if let alert = self.alert, alert != "-" {
            guard let contents = FileManager.default.contents(atPath: alert) else {
                FileHandle.standardError.write(Data("aicc-notify: usage: route: cannot read '\(alert)'\n".utf8))
                throw ExitCode(2)
            }
            data = contents
        } else {
            data = FileHandle.standardInput.readDataToEndOfFile()
        }
        switch AlertRecord.decode(value: Array(data), headers: []) {
        case .notAlerts(let code, let message):
            FileHandle.standardError.write(Data("aicc-notify: \(code): \(message)\n".utf8))
            throw ExitCode(1)
        case .alerts(let alerts):
            let router = Router(rules: loaded, keySecret: try Self.keySecret(ProcessInfo.processInfo.environment))
            if self.explain {
                for alert in alerts { print(RoutePlan(router: router, alert: alert, now: Date()).text, terminator: "") }
                return
            }
            for alert in alerts {
                let name = alert.labels["alertname"] ?? alert.identity
                switch router.route(alert, recordTime: Date()) {
                case .routed(let requests):
                    FileHandle.standardError.write(Data("\(name): routed to \(requests.count) recipient(s)\n".utf8))
                    for request in requests { print(String(decoding: request.json, as: UTF8.self)) }
                case .resolved:
                    FileHandle.standardError.write(Data("\(name): resolved, nobody is called\n".utf8))
                case .unmatched:
                    FileHandle.standardError.write(Data("\(name): no route matched\n".utf8))
                }
            }
        }
    }
}
