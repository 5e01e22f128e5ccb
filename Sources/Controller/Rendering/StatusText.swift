import Foundation
import Shared

/// The human form of a status report.
struct StatusText {
    let terminal: Terminal

    /// Renders `report` from `target` as lines. Every string the agent sent goes through
    /// ``ControlCharacters/escaped(_:)``: the lock's `controller` is whatever a client sent.
    func render(_ report: StatusReport, target: String) -> String {
        let inert = ControlCharacters.escaped
        let headline = Self.headline(report).map { ": \(inert($0))" } ?? ""
        var lines = ["\(terminal.paint(report.health.rawValue.uppercased(), report.health)) \(target)\(headline) "
            + terminal.dim("(host \(inert(report.host)), agent \(inert(report.agentVersion)))")]
        for app in report.apps {
            lines.append("")
            lines.append("\(inert(app.name))  \(terminal.paint(app.health.rawValue.uppercased(), app.health))  "
                + inert(app.path))
            for reason in app.reasons { lines.append("  ! \(inert(reason))") }
            if let checks = checks(app) { lines.append("  checks  " + checks) }
            lines.append("  code    " + code(app, now: report.time))
            let width = app.data.map { inert($0.path).count }.max() ?? 0
            for (index, dir) in app.data.enumerated() {
                let label = index == 0 ? "  data    " : "          "
                lines.append(label + data(dir, width: width, now: report.time))
            }
            if app.data.isEmpty { lines.append("  data    (no data dirs configured)") }
            lines.append("  disk    " + disks(app.disks))
            lines.append("  lock    " + lock(app.lock, now: report.time))
            lines.append("  deploy  " + deploy(app.lastDeploy, now: report.time))
            if let snapshots = app.snapshots {
                let newest = snapshots.newest.map { ", newest \(Self.age(report.time.timeIntervalSince($0))) ago" } ?? ""
                lines.append("  backup  \(snapshots.count) snapshot(s)\(newest)")
                if let offsite = app.backup { lines.append("  offsite " + Self.offsite(offsite, now: report.time)) }
                if let kinds = snapshots.kinds, !kinds.isEmpty {
                    let counts = DataKind.allCases.compactMap { kind in
                        kinds[kind.rawValue].map { "\($0) \(Self.kindNames[kind] ?? kind.rawValue)" }
                    }
                    lines.append("  kinds   " + counts.joined(separator: ", ") + " (as of the newest snapshot)")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// What the first line names after the verdict: the worst app's first reason (with how many more there
    /// are), or why the checks were skipped; nil when there is nothing to say.
    static func headline(_ report: StatusReport) -> String? {
        let total = report.apps.reduce(0) { $0 + $1.reasons.count }
        if let worst = report.apps.filter({ !$0.reasons.isEmpty }).max(by: { $0.health < $1.health }),
           let first = worst.reasons.first {
            let more = total > 1 ? " (and \(total - 1) more)" : ""
            return "\(worst.name): \(first)\(more)"
        }
        if let app = report.apps.first(where: { $0.checksSkipped != nil }), let why = app.checksSkipped {
            return "\(app.name): \(why)"
        }
        return nil
    }

    /// The checks line: each check with its verdict and time, or why they were skipped.
    private func checks(_ app: AppStatus) -> String? {
        let inert = ControlCharacters.escaped
        let ran = (app.checks ?? []).filter { $0.kind != .data }.map { check in
            let name = check.kind == .fresh ? "\(inert(check.name)) fresh" : inert(check.name)
            let verdict = check.ok ? terminal.paint("ok", .ok) : terminal.paint("FAILED", .critical)
            return "\(name) \(verdict) (\(Self.duration(check.seconds)))"
        }
        if let skipped = app.checksSkipped { return (ran + [inert(skipped)]).joined(separator: ", ") }
        return ran.isEmpty ? (app.checks == nil ? nil : "none configured") : ran.joined(separator: ", ")
    }

    /// Disks by filesystem: the roles sharing one (same free and total bytes) on one entry.
    private func disks(_ disks: [DiskStatus]) -> String {
        guard !disks.isEmpty else { return "unknown" }
        var groups: [(free: Int64, total: Int64, roles: [String])] = []
        for disk in disks {
            let role = ControlCharacters.escaped(disk.dir ?? disk.role)
            if let index = groups.firstIndex(where: { $0.free == disk.freeBytes && $0.total == disk.totalBytes }) {
                groups[index].roles.append(role)
            } else {
                groups.append((disk.freeBytes, disk.totalBytes, [role]))
            }
        }
        return groups.map {
            "\($0.roles.joined(separator: ", ")) \(ByteCount.format($0.free)) free of \(ByteCount.format($0.total))"
        }.joined(separator: "; ")
    }

    /// The restic line: the newest backup's age and how the last attempt went.
    static func offsite(_ state: BackupState, now: Timestamp) -> String {
        let newest = state.newest.map { "newest backup \(age(now.timeIntervalSince($0))) ago" } ?? "no backup yet"
        let last = state.ok ? "last attempt ok" : "last attempt FAILED \(age(now.timeIntervalSince(state.attemptedAt))) ago"
        return "restic: \(newest), \(last)"
    }

    /// `0.0042` → `4ms`, `1.5` → `1.5s`.
    static func duration(_ seconds: Double) -> String {
        seconds < 1 ? "\(Int((seconds * 1000).rounded()))ms" : String(format: "%.1fs", seconds)
    }

    private static let kindNames: [DataKind: String] = [.append: "append-only", .sqlite: "SQLite", .mutable: "mutable"]

    private func code(_ app: AppStatus, now: Timestamp) -> String {
        guard let head = app.head else { return "unknown (not a readable git checkout)" }
        let inert = ControlCharacters.escaped
        var text = inert(String(head.commit.prefix(12)))
        text += head.branch.map { " on \(inert($0))" } ?? " (detached)"
        if let subject = head.subject { text += " \"\(inert(subject))\"" }
        if let committed = head.committedAt { text += ", committed \(Self.age(now.timeIntervalSince(committed))) ago" }
        switch app.dirty {
        case true?: text += ", \(app.dirtyPaths.count) tracked file(s) modified"
        case false?: text += ", clean"
        case nil: break
        }
        return text
    }

    private func data(_ dir: DataDirStatus, width: Int, now: Timestamp) -> String {
        let name = ControlCharacters.escaped(dir.path).padding(toLength: width, withPad: " ", startingAt: 0)
        guard dir.exists else { return "\(name)  missing" }
        var text = "\(name)  \(ByteCount.format(dir.bytes)) in \(dir.files) file(s)"
        if let newest = dir.newestMtime { text += ", last write \(Self.age(now.timeIntervalSince(newest))) ago" }
        return text
    }

    private func lock(_ lock: LockHolder?, now: Timestamp) -> String {
        guard let lock else { return "free" }
        let inert = ControlCharacters.escaped
        let who = lock.controller.map { " by \(inert($0))" } ?? ""
        let commit = lock.commit.map { " deploying \(inert(String($0.prefix(12))))" } ?? ""
        let state = lock.alive ? "held" : "stale (worker \(lock.pid) died)"
        return "\(state): deploy \(inert(lock.deploy))\(commit)\(who), "
            + "started \(Self.age(now.timeIntervalSince(lock.startedAt))) ago"
    }

    private func deploy(_ record: DeployRecord?, now: Timestamp) -> String {
        guard let record else { return "none yet" }
        let inert = ControlCharacters.escaped
        var text = "\(inert(record.deploy)) \(inert(record.outcome.words)) "
            + "\(Self.age(now.timeIntervalSince(record.finishedAt))) ago, "
            + "commit \(inert(String(record.commit.prefix(12))))"
        if let message = record.message { text += ": \(inert(message))" }
        return text
    }

    /// `93` → `1m33s`; negative ages (clock skew) read as `0s`.
    static func age(_ seconds: TimeInterval) -> String {
        let total = max(0, Int(seconds))
        switch total {
        case ..<60: return "\(total)s"
        case ..<3600: return "\(total / 60)m\(String(format: "%02d", total % 60))s"
        case ..<86400: return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m"
        default: return "\(total / 86400)d\(total % 86400 / 3600)h"
        }
    }
}
