import Foundation
import Shared

/// The Prometheus text exposition of a status report, for node_exporter's textfile collector or a
/// script exporter.
struct Prometheus {
    private var lines: [String] = []
    private var declared: Set<String> = []

    /// Renders a report, or only `shipkeep_up 0` when the VM could not be read.
    static func render(_ report: StatusReport?, target: String) -> String {
        var out = Prometheus()
        let base = ["target": target]
        out.metric("shipkeep_up", "Whether the agent answered (1) or not (0).", base, report == nil ? 0 : 1)
        guard let report else { return out.text }
        let now = report.time
        for app in report.apps {
            let labels = base.merging(["app": app.name]) { $1 }
            out.metric("shipkeep_health", "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", labels, Double(app.health.exitCode))
            out.metric("shipkeep_work_tree_dirty", "1 when tracked files differ from HEAD.", labels,
                       app.dirty == true ? 1 : 0)
            for dir in app.data {
                let dirLabels = labels.merging(["dir": dir.path]) { $1 }
                out.metric("shipkeep_data_bytes", "Bytes in regular files of a data dir.", dirLabels, Double(dir.bytes))
                out.metric("shipkeep_data_files", "Regular files in a data dir.", dirLabels, Double(dir.files))
                if let newest = dir.newestMtime {
                    out.metric("shipkeep_data_newest_write_age_seconds", "Seconds since the newest write in a data dir.",
                               dirLabels, max(0, now.timeIntervalSince(newest)))
                }
            }
            for disk in app.disks {
                out.metric("shipkeep_disk_free_bytes", "Free bytes where data or state live.",
                           labels.merging(["role": disk.role]) { $1 }, Double(disk.freeBytes))
            }
            out.metric("shipkeep_lock_held", "1 while a deploy holds the app's lock.", labels,
                       app.lock?.alive == true ? 1 : 0)
            if let last = app.lastDeploy {
                out.metric("shipkeep_last_deploy_age_seconds", "Seconds since the last deploy finished.", labels,
                           max(0, now.timeIntervalSince(last.finishedAt)))
                out.metric("shipkeep_last_deploy_success", "1 when the last deploy succeeded.", labels,
                           last.outcome == "succeeded" ? 1 : 0)
                out.metric("shipkeep_last_deploy_info", "The last deploy's outcome and commit, as labels.",
                           labels.merging(["outcome": last.outcome, "commit": last.commit]) { $1 }, 1)
            }
            if let snapshots = app.snapshots {
                out.metric("shipkeep_snapshots", "Complete snapshots of the data dirs.", labels, Double(snapshots.count))
                if let newest = snapshots.newest {
                    out.metric("shipkeep_snapshot_newest_age_seconds", "Seconds since the newest snapshot.", labels,
                               max(0, now.timeIntervalSince(newest)))
                }
            }
        }
        return out.text
    }

    private var text: String { lines.joined(separator: "\n") + "\n" }

    private mutating func metric(_ name: String, _ help: String, _ labels: [String: String], _ value: Double) {
        if declared.insert(name).inserted {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) gauge")
        }
        let rendered = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escape($0.value))\"" }
        let number = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        lines.append("\(name){\(rendered.joined(separator: ","))} \(number)")
    }

    /// A label value: control characters inert as everywhere else (a line break reads `\u{a}`, so a scraped
    /// value and the text shown agree), then the exposition format's own escaping of backslash and quote.
    private static func escape(_ value: String) -> String {
        ControlCharacters.escaped(value).replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
    }
}
