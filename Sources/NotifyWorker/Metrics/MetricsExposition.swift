import Foundation

/// The worker's version, in `--version` and the `aicc_notify_build_info` gauge.
public enum BuildInfo {
    /// Semantic version of this build.
    public static let version = "0.16.0"
}

/// What `/metrics` serves: the worker's registry (swift-prometheus), with a
/// `# HELP` line for every metric, the `aicc_notify_build_info` gauge and the
/// standard `process_*` metrics of Prometheus client libraries (read from
/// `/proc` at scrape time; Linux).
enum MetricsExposition {
    /// `# HELP` text by metric name (swift-metrics has no place for it).
    static let help: [String: String] = [
        "aicc_notify_requests_total": "Results published, by outcome.",
        "aicc_notify_results_republished_total": "Stored results published again for redelivered requests.",
        "aicc_notify_aicc_calls_total": "createVoiceNotification calls, by HTTP status and AICC retCode (none without an answer).",
        "aicc_notify_aicc_call_duration_seconds": "Duration of one createVoiceNotification call.",
        "aicc_notify_end_to_end_seconds": "Kafka record timestamp to result acknowledged by Kafka.",
        "aicc_notify_retries_total": "Retries scheduled (transient failures, claims held elsewhere).",
        "aicc_notify_dead_lettered_total": "Records sent to the dead-letter topic, by the first error's code.",
        "aicc_notify_in_flight": "Records in the worker.",
        "aicc_notify_paused_partitions": "Partitions paused (in-flight bound, outage, shutdown).",
        "aicc_notify_outage": "1 while the outage breaker is open.",
        "aicc_notify_callbacks_total": "Call-status events published, by normalized status.",
        "aicc_notify_token_refreshes_total": "tokenByAkSk round trips for the token cache, by result.",
        "aicc_notify_consumer_lag": "Records behind the end of this worker's partitions, from its last committed offsets.",
        "aicc_notify_alerts_total": "Alerts from the alerts topic, by what became of them (routed, resolved, unmatched, invalid).",
        "aicc_notify_trace_spans_dropped_total": "Finished spans dropped because the export queue was full (tracing.otlpEndpoint slow or unreachable).",
        "aicc_notify_build_info": "Always 1; the labels say which build runs.",
        "process_cpu_seconds_total": "Total user and system CPU time spent in seconds.",
        "process_resident_memory_bytes": "Resident memory size in bytes.",
        "process_virtual_memory_bytes": "Virtual memory size in bytes.",
        "process_open_fds": "Number of open file descriptors.",
        "process_max_fds": "Maximum number of open file descriptors.",
        "process_start_time_seconds": "Start time of the process since unix epoch in seconds.",
    ]

    /// The full exposition: `registry` text with HELP lines, then build info
    /// and process metrics.
    static func render(_ registry: String) -> String {
        var out = ""
        out.reserveCapacity(registry.utf8.count + 2048)
        for line in registry.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst("# TYPE ".count).prefix { $0 != " " }
                if let text = Self.help[String(name)] { out += "# HELP \(name) \(text)\n" }
            }
            if !line.isEmpty { out += line + "\n" }
        }
        Self.append(gauge: "aicc_notify_build_info", labels: #"{version="\#(BuildInfo.version)"}"#, value: 1, type: "gauge", to: &out)
        for (name, type, value) in Self.processMetrics() {
            Self.append(gauge: name, labels: "", value: value, type: type, to: &out)
        }
        return out
    }

    private static func append(gauge name: String, labels: String, value: Double, type: String, to out: inout String) {
        out += "# HELP \(name) \(Self.help[name] ?? name)\n# TYPE \(name) \(type)\n\(name)\(labels) \(Self.format(value))\n"
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// `process_*` from `/proc/self` (empty where it cannot be read).
    static func processMetrics() -> [(String, String, Double)] {
        var metrics: [(String, String, Double)] = []
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")")
        {
            // Fields after the command name: state is field 3, utime 14, stime 15, starttime 22, vsize 23, rss 24.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ number: Int) -> Double? { fields.count > number - 3 ? Double(fields[number - 3]) : nil }
            if let utime = field(14), let stime = field(15), ticks > 0 {
                metrics.append(("process_cpu_seconds_total", "counter", (utime + stime) / ticks))
            }
            if let rss = field(24) { metrics.append(("process_resident_memory_bytes", "gauge", rss * pageSize)) }
            if let vsize = field(23) { metrics.append(("process_virtual_memory_bytes", "gauge", vsize)) }
            if let start = field(22), ticks > 0, let boot = Self.bootTime() {
                metrics.append(("process_start_time_seconds", "gauge", boot + start / ticks))
            }
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            metrics.append(("process_open_fds", "gauge", Double(fds.count)))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            metrics.append(("process_max_fds", "gauge", Double(limit.rlim_cur)))
        }
        return metrics
    }

    /// `btime` from `/proc/stat`: the boot time in seconds since the epoch.
    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count))
        }
        return nil
    }
}
