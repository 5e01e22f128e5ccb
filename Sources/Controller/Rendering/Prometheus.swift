import Foundation
import Shared

/// The Prometheus text exposition of status probes, for node_exporter's textfile collector or a script exporter.
///
/// Valid as the Prometheus parser reads it: every family has one `# HELP` and one `# TYPE` line followed by all
/// its samples, whatever order the probes and apps come in, and a target that could not be asked still gets a
/// complete exposition (`shipkeep_up 0` with a `reason` label).
struct Prometheus {
    /// One target's probe: the report, or why there is none.
    struct Probe {
        /// The `target` label.
        var target: String
        var report: StatusReport?
        /// The error code (`connection`, `host_key`, `authentication`, `protocol`, an agent's code) when the VM
        /// could not be asked.
        var reason: String?
        /// When the probe was taken, when there is no report to say.
        var time = Date()
    }

    private struct Family {
        var help: String
        var samples: [String] = []
    }

    private var families: [String: Family] = [:]
    private var order: [String] = []

    /// Renders one target's report, or `shipkeep_up 0` with the `reason` when the VM could not be read.
    static func render(_ report: StatusReport?, target: String, reason: String? = nil) -> String {
        render([Probe(target: target, report: report, reason: reason)])
    }

    /// Renders every probe as one exposition.
    static func render(_ probes: [Probe]) -> String {
        var out = Prometheus()
        for probe in probes { out.add(probe) }
        return out.text
    }

    private mutating func add(_ probe: Probe) {
        let base = ["target": probe.target]
        guard let report = probe.report else {
            metric("shipkeep_up", "Whether the agent answered (1) or not (0, with the reason).",
                   base.merging(["reason": probe.reason ?? "unknown"]) { $1 }, 0)
            metric("shipkeep_status_code", "The probe's verdict: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", base,
                   Double(Health.unknown.exitCode))
            metric("shipkeep_probe_timestamp_seconds", "When the probe ran (Unix time).", base,
                   probe.time.timeIntervalSince1970)
            return
        }
        let now = report.time
        metric("shipkeep_up", "Whether the agent answered (1) or not (0, with the reason).", base, 1)
        metric("shipkeep_status_code", "The probe's verdict: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", base,
               Double(report.health.exitCode))
        metric("shipkeep_probe_timestamp_seconds", "When the probe ran (Unix time).", base, now.timeIntervalSince1970)
        for app in report.apps {
            let labels = base.merging(["app": app.name]) { $1 }
            metric("shipkeep_health", "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", labels, Double(app.health.exitCode))
            for check in app.checks ?? [] {
                let checkLabels = labels.merging(["kind": check.kind.rawValue, "check": check.name]) { $1 }
                if check.kind == .service {
                    metric("shipkeep_service_up", "1 when the service's check (or systemd is-active) passed.",
                           labels.merging(["service": check.name]) { $1 }, check.ok ? 1 : 0)
                }
                metric("shipkeep_check_success", "1 when the check passed (kind: service, command, fresh, data).",
                       checkLabels, check.ok ? 1 : 0)
                metric("shipkeep_check_duration_seconds", "How long the check ran.", checkLabels, check.seconds)
            }
            metric("shipkeep_checks_skipped", "1 when a deploy held the lock and the checks were not run.", labels,
                   app.checksSkipped == nil ? 0 : 1)
            metric("shipkeep_work_tree_dirty", "1 when tracked files differ from HEAD.", labels,
                   app.dirty == true ? 1 : 0)
            for dir in app.data {
                let dirLabels = labels.merging(["dir": dir.path]) { $1 }
                metric("shipkeep_data_bytes", "Bytes in regular files of a data dir.", dirLabels, Double(dir.bytes))
                metric("shipkeep_data_files", "Regular files in a data dir.", dirLabels, Double(dir.files))
                if let newest = dir.newestMtime {
                    metric("shipkeep_data_newest_write_age_seconds", "Seconds since the newest write in a data dir.",
                           dirLabels, max(0, now.timeIntervalSince(newest)))
                }
            }
            for disk in app.disks {
                var diskLabels = labels.merging(["role": disk.role]) { $1 }
                if let dir = disk.dir { diskLabels["dir"] = dir }
                metric("shipkeep_disk_free_bytes", "Free bytes on the filesystem of a data dir, the state or the "
                    + "snapshots.", diskLabels, Double(disk.freeBytes))
                metric("shipkeep_disk_size_bytes", "Size of that filesystem.", diskLabels, Double(disk.totalBytes))
            }
            metric("shipkeep_lock_held", "1 while a deploy holds the app's lock.", labels,
                   app.lock?.alive == true ? 1 : 0)
            if let last = app.lastDeploy {
                metric("shipkeep_last_deploy_age_seconds", "Seconds since the last deploy finished.", labels,
                       max(0, now.timeIntervalSince(last.finishedAt)))
                metric("shipkeep_last_deploy_success", "1 when the last deploy succeeded.", labels,
                       last.outcome == .succeeded ? 1 : 0)
                metric("shipkeep_last_deploy_info", "The last deploy's outcome and commit, as labels.",
                       labels.merging(["outcome": last.outcome.rawValue, "commit": last.commit]) { $1 }, 1)
            }
            if let snapshots = app.snapshots {
                metric("shipkeep_snapshots", "Complete snapshots of the data dirs.", labels, Double(snapshots.count))
                if let newest = snapshots.newest {
                    metric("shipkeep_snapshot_newest_age_seconds", "Seconds since the newest snapshot.", labels,
                           max(0, now.timeIntervalSince(newest)))
                }
            }
            if let backup = app.backup {
                metric("shipkeep_backup_last_success", "1 when the last off-VM backup (restic) succeeded.", labels,
                       backup.ok ? 1 : 0)
                if let newest = backup.newest {
                    metric("shipkeep_backup_newest_age_seconds", "Seconds since the newest off-VM backup.", labels,
                           max(0, now.timeIntervalSince(newest)))
                }
            }
        }
    }

    /// Each family's HELP and TYPE, then all its samples, families in the order they first appeared.
    private var text: String {
        var lines: [String] = []
        for name in order {
            guard let family = families[name] else { continue }
            lines.append("# HELP \(name) \(family.help)")
            lines.append("# TYPE \(name) gauge")
            lines.append(contentsOf: family.samples)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private mutating func metric(_ name: String, _ help: String, _ labels: [String: String], _ value: Double) {
        if families[name] == nil {
            families[name] = Family(help: help)
            order.append(name)
        }
        let rendered = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escape($0.value))\"" }
        families[name]?.samples.append("\(name){\(rendered.joined(separator: ","))} \(Self.number(value))")
    }

    /// Integers without a fraction; anything else as Swift prints a Double (`0.0042`, `1.7e+09`), which the
    /// exposition format accepts.
    private static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf") }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// A label value: control characters inert as everywhere else (a line break reads `\u{a}`, so a scraped
    /// value and the text shown agree), then the exposition format's own escaping of backslash and quote.
    private static func escape(_ value: String) -> String {
        ControlCharacters.escaped(value).replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
    }
}
