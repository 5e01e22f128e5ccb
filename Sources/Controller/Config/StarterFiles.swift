import Foundation
import Shared

/// The starter `shipkeep.yml` and `agent.yml` that `shipkeep init` writes: YAML built from typed values
/// (every string quoted when it is not plainly safe), then parsed back by the same loaders the tools use, so
/// a file init writes is always one shipkeep accepts.
struct StarterFiles {
    /// The `shipkeep.yml` target.
    struct Target {
        var name = "prod"
        var host: String
        var port: Int?
        var user: String?
        var app: String
        var identity: String?
        var knownHosts: String?
        var fingerprint: String?
        var jump: String?
    }

    /// The app in `agent.yml`.
    struct App {
        var name: String
        var path: String
        var remote = "origin"
        /// Where the first deploy clones the app from (`remote_url`), if known.
        var remoteURL: String?
        var branch = "main"
        var data: [String] = []
        var state: String?
        var keep = 5
        var hooks: [[String]] = []
        var restart: [String]?
        var check: [String]?
        var systemd: [String] = []
        var healthCommand: [String]?
        /// `health.fresh`: the path (relative to `path`) and its seconds.
        var fresh: (path: String, within: Int)?
        /// `health.settle` in seconds; 0 writes none.
        var settle = 0
    }

    var target: Target
    var app: App

    /// The text of `shipkeep.yml`.
    var projectYAML: String {
        var lines = [
            "# shipkeep targets: `shipkeep deploy \(target.name)`. Flags and SHIPKEEP_* variables override these.",
            "targets:",
            "  \(target.name):",
            "    host: \(Self.scalar(target.host))",
        ]
        if let port = target.port { lines.append("    port: \(port)") }
        if let user = target.user { lines.append("    user: \(Self.scalar(user))") }
        lines.append("    app: \(Self.scalar(target.app))")
        if let identity = target.identity { lines.append("    identity: \(Self.scalar(identity))") }
        if let fingerprint = target.fingerprint {
            lines.append("    fingerprint: \(Self.scalar(fingerprint))")
        } else if let knownHosts = target.knownHosts {
            lines.append("    known_hosts: \(Self.scalar(knownHosts))")
        }
        if let jump = target.jump { lines.append("    jump: \(Self.scalar(jump))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The text of `agent.yml`.
    var agentYAML: String {
        var lines = [
            "# shipkeep-agent's configuration: the authority on what a deploy may touch on this VM.",
            "apps:",
            "  \(app.name):",
            "    path: \(Self.scalar(app.path))",
            "    remote: \(Self.scalar(app.remote))",
        ] + (app.remoteURL.map { ["    remote_url: \(Self.scalar($0))   # the first deploy clones it from here"] }
            ?? []) + [
            "    branch: \(Self.scalar(app.branch))",
            "    data: [\(app.data.map(Self.scalar).joined(separator: ", "))]   # never touched by an update",
            "    snapshots: { keep: \(app.keep) }",
        ]
        if let state = app.state { lines.insert("    state: \(Self.scalar(state))", at: lines.count - 1) }
        if !app.hooks.isEmpty {
            lines.append("    hooks:")
            lines.append("      after_update:")
            lines += app.hooks.map { "        - \(Self.argv($0))" }
        }
        if app.restart != nil || !app.systemd.isEmpty {
            lines.append("    services:")
            if let restart = app.restart {
                lines.append("      - name: \(Self.scalar(app.name))")
                lines.append("        restart: \(Self.argv(restart))")
                if let check = app.check { lines.append("        check: \(Self.argv(check))") }
            }
            lines += app.systemd.map { "      - systemd: \(Self.scalar($0))" }
        }
        if app.healthCommand != nil || app.fresh != nil || app.settle > 0 {
            lines.append("    health:")
            if let command = app.healthCommand { lines.append("      command: \(Self.argv(command))") }
            if let fresh = app.fresh {
                lines.append("      fresh: { path: \(Self.scalar(fresh.path)), within: \(fresh.within) }"
                    + "   # written after the restart, at most this many seconds ago")
            }
            if app.settle > 0 {
                // health.timeout includes the settle time; the default (30) leaves room for a settle below 20.
                if app.settle >= 20 { lines.append("      timeout: \(app.settle + 30)") }
                lines.append("      settle: \(app.settle)   # the checks must keep passing this long")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Parses both texts back with the real loaders.
    ///
    /// - Throws: ``ControllerError`` of kind `.usage` with the loader's message (a bad flag value).
    func validate() throws(ControllerError) {
        do {
            let project = try ProjectConfig.parse(projectYAML, file: "shipkeep.yml")
            guard project.target(target.name) != nil else {
                throw ControllerError(.usage, "the target name \"\(target.name)\" is not usable")
            }
            let agent = try AgentConfig.parse(agentYAML, file: "agent.yml")
            guard agent.app(app.name) != nil else {
                throw ControllerError(.usage, "the app name \"\(app.name)\" is not usable")
            }
        } catch let error as ConfigError {
            throw ControllerError(.usage, "\(error)")
        } catch let error as ControllerError {
            throw error
        } catch {
            throw ControllerError(.usage, "\(error)")
        }
    }

    /// A YAML scalar: plain when it cannot be misread, else a double-quoted (JSON) string.
    static func scalar(_ value: String) -> String {
        let plain = value.range(of: "^[A-Za-z0-9_/.~][A-Za-z0-9_./~@+-]*$", options: .regularExpression) != nil
        let ambiguous = ["true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"].contains(value.lowercased())
            || Double(value) != nil
        if plain && !ambiguous { return value }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }

    /// An argv as a YAML flow list: `["./restart.sh", "--fast"]`.
    static func argv(_ words: [String]) -> String {
        "[" + words.map(scalar).joined(separator: ", ") + "]"
    }
}
