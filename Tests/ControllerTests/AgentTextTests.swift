import Foundation
import Shared
import Testing
@testable import Controller

/// Strings an agent sends (a lock's `controller`, messages, log lines, names) carrying terminal escape
/// sequences or GitHub workflow commands: what a terminal or the Actions log gets is inert text.
@Suite struct AgentTextTests {
    static let title = "\u{1B}]0;pwned\u{07}"
    static let erase = "\u{1B}[2K"
    static let csi = "\u{9B}31m"

    /// Whether `text` has a C0 (other than the line breaks between lines), DEL or C1 character.
    private func hasControl(_ text: String, allowingNewlines: Bool = true) -> Bool {
        text.unicodeScalars.contains { scalar in
            if allowingNewlines && scalar == "\n" { return false }
            return scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
        }
    }

    /// Whether any line would be taken by the Actions runner as a workflow command.
    private func startsCommand(_ text: String) -> Bool {
        text.split(separator: "\n", omittingEmptySubsequences: false).contains { line in
            line.drop { $0 == " " || $0 == "\t" }.hasPrefix("::")
        }
    }

    private func report(_ hostile: String) -> StatusReport {
        let now = Timestamp.now()
        let app = AppStatus(
            name: "bots", path: "/srv/bots" + hostile, branch: "main",
            head: GitHead(commit: String(repeating: "a", count: 40), branch: "main" + hostile,
                          subject: hostile + "subject", committedAt: now),
            dirty: false, dirtyPaths: [], data: [DataDirStatus(path: "logs" + hostile, exists: true, bytes: 1, files: 1,
                                                               newestMtime: now)],
            disks: [], lock: LockHolder(deploy: "d" + hostile, controller: Self.title + "ci" + Self.erase,
                                        commit: hostile, startedAt: now, pid: 1, alive: true),
            lastDeploy: DeployRecord(deploy: "d1", commit: "c", previousCommit: nil, startedAt: now, finishedAt: now,
                                     outcome: .failed, message: "\n::error::injected" + hostile),
            health: .warning, reasons: [hostile + "reason", "::warning::fake"])
        return StatusReport(host: "vm" + hostile, agentVersion: "1" + Self.csi, time: now, apps: [app])
    }

    @Test(arguments: [title, erase, csi, "\u{7F}", "\r::error::x", "\n::stop-commands::t"])
    func statusTextShowsNoControlCharacters(hostile: String) {
        let text = StatusText(terminal: Terminal(colors: false)).render(report(hostile), target: "vm")
        #expect(!hasControl(text), "\(text.debugDescription)")
        #expect(!startsCommand(text), "\(text)")
    }

    @Test(arguments: [title, erase, csi, "%0A::error::x", "\n::error::x", "\r\n::add-mask::x"])
    func workflowCommandsCarryAgentTextAsOneInertLine(hostile: String) {
        let actions = GitHubActions(summaryFile: nil)
        for line in [actions.warning("w" + hostile), actions.error("e" + hostile), actions.group("g" + hostile)] {
            #expect(!hasControl(line, allowingNewlines: false), "\(line.debugDescription)")
        }
    }

    @Test func theJobSummaryShowsNoControlCharactersOrCommands() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("summary-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let hostile = Self.title + "\n::error::injected" + Self.erase
        let deploy = DeploySummary(deploy: "d" + hostile, app: "bots" + hostile, commit: "c" + hostile,
                                   previousCommit: "p", liveCommit: "l" + hostile,
                                   outcome: Outcome(rawValue: "failed" + hostile),
                                   snapshot: nil, repairs: 0, seconds: 1)
        let result = Event.Result(ok: false, error: WireError(code: .unknown("x"), message: hostile), deploy: deploy)
        GitHubActions(summaryFile: file).writeSummary(target: "vm", result: result,
                                                      phases: [(name: "update" + hostile, state: "failed", seconds: 1)])
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!hasControl(text), "\(text.debugDescription)")
        #expect(!startsCommand(text), "\(text)")
    }
}

/// The one escaping function, and the deploy renderer that uses it for every event.
@Suite struct AgentTextEscapingTests {
    @Test func controlCharactersAndCommandStartsBecomeVisibleText() {
        let escaped = ControlCharacters.escaped
        #expect(escaped(AgentTextTests.title) == #"\u{1b}]0;pwned\u{7}"#)
        #expect(escaped(AgentTextTests.erase + "x") == #"\u{1b}[2Kx"#)
        #expect(escaped("a\u{9B}b\u{7F}c\u{85}") == #"a\u{9b}b\u{7f}c\u{85}"#)
        #expect(escaped("one\ntwo\r") == #"one\u{a}two\u{d}"#)
        #expect(escaped("::error::x") == #"\u{3a}:error::x"#)
        #expect(escaped("  ::warning::x") == #"  \u{3a}:warning::x"#)
        #expect(escaped("\u{A0}::warning::x") == "\u{A0}" + #"\u{3a}:warning::x"#)
        #expect(escaped("say ##[error]x") == #"say ##\u{5b}error]x"#)
        for plain in ["deployed 1a2b → 3c4d", "a:b::c", "100% ünïcödé ✓", "#[x] ##x", ""] {
            #expect(escaped(plain) == plain)
        }
        for hostile in [AgentTextTests.title, "::x", "##[x", "\n::x"] {
            #expect(escaped(escaped(hostile)) == escaped(hostile), "escaping twice changes nothing more")
        }
    }

    @Test func theDeployRendererShowsCraftedEventsInert() {
        var lines: [String] = []
        let renderer = DeployRenderer(terminal: Terminal(colors: false), target: "vm", verbose: true, actions: nil) {
            lines.append($0)
        }
        let hostile = AgentTextTests.title + AgentTextTests.erase + "\n::error::x" + AgentTextTests.csi
        let events: [Event] = [
            .started(Event.Started(deploy: "d" + hostile, app: "bots" + hostile, pid: 1)),
            .phase(.init(name: DeployPhase(rawValue: "update" + hostile), state: .started)),
            .phase(.init(name: DeployPhase(rawValue: "update" + hostile), state: .completed, detail: hostile)),
            .log(.init(stream: "stdout", line: hostile, source: "bot" + hostile)),
            .warning(.init(code: "repaired", message: hostile)),
        ]
        for (index, event) in events.enumerated() {
            renderer.render(EventMessage(id: "1", seq: index + 1, event: event))
        }
        let summary = DeploySummary(deploy: "d", app: "bots", commit: hostile, previousCommit: hostile,
                                    liveCommit: hostile, outcome: Outcome(rawValue: "rolled_back" + hostile),
                                    snapshot: nil, repairs: 0, seconds: 1)
        let error = WireError(code: .unknown("x"), message: hostile)
        renderer.summary(Event.Result(ok: false, error: error, deploy: summary))
        #expect(lines.count == 7, "\(lines)")
        for line in lines {
            #expect(ControlCharacters.first(in: line) == nil, "\(line.debugDescription)")
            #expect(!line.drop { $0 == " " }.hasPrefix("::"), "\(line)")
        }

        var actionLines: [String] = []
        let actions = DeployRenderer(terminal: Terminal(colors: false), target: "vm", verbose: false,
                                     actions: GitHubActions(summaryFile: nil)) { actionLines.append($0) }
        actions.render(EventMessage(id: "1", seq: 1, event: .warning(.init(code: "w", message: hostile))))
        actions.summary(Event.Result(ok: false, error: WireError(code: .unknown("x"), message: hostile), deploy: nil))
        #expect(actionLines.filter { $0.hasPrefix("::warning::") || $0.hasPrefix("::error::") }.count == 2,
                "\(actionLines)")
        for line in actionLines {
            #expect(ControlCharacters.first(in: line) == nil, "\(line.debugDescription)")
            // One line each: what follows `::warning::` is the command's data, shown as text.
            #expect(line.hasPrefix("::") || !line.drop { $0 == " " }.hasPrefix("::"), "\(line)")
        }
    }
}
