import ShipkeepSandbox
import Testing
@testable import Agent

/// `shipkeep-agent`'s own argv parser (Sources/Agent/CommandLine), which replaced swift-argument-parser: the
/// same command line, help on every command, one-line usage errors with exit 64. The parse table runs in
/// process; the binary table runs the built agent, as sshd and the timer do.
@Suite(.timeLimit(.minutes(10))) struct AgentCommandLineTests {
    static let visible = ["serve", "version", "check", "snapshot"]
    static let hidden = ["worker", "snapshot-bench"]

    private func help(_ arguments: [String]) throws -> String {
        guard case .help(let text) = try AgentCommandLine.parse(arguments) else {
            Issue.record("\(arguments) is not a help request")
            return ""
        }
        return text
    }

    private func usageError(_ arguments: [String]) -> UsageError? {
        do {
            _ = try AgentCommandLine.parse(arguments)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: visible + hidden)
    func everyCommandsHelpNamesItsOptions(command: String) throws {
        let spec = try #require(ShipkeepAgent.commands.first { $0.spec.name == command }?.spec)
        for asked in [[command, "--help"], [command, "-h"], ["help", command], [command, "--bogus", "--help"]] {
            let text = try help(asked)
            #expect(text.hasPrefix("OVERVIEW: "), "\(asked)")
            #expect(text.contains("USAGE: shipkeep-agent \(command)"), "\(asked)")
            #expect(text.contains("--version") && text.contains("-h, --help"), "\(asked)")
            for option in spec.options {
                #expect(!option.help.isEmpty)
                #expect(text.contains("--\(option.name)") && text.contains(option.help.split(separator: " ")[0]),
                        "\(asked) lacks --\(option.name)")
            }
            for line in text.split(separator: "\n") where !line.hasPrefix(" ") && !line.hasPrefix("USAGE:") {
                #expect(line.count <= 80, "\(asked): a line of \(line.count) columns: \(line)")
            }
        }
    }

    @Test func theToolsHelpListsTheVisibleCommandsOnly() throws {
        for asked in [[], ["--help"], ["-h"], ["help"], ["help", "nope"], ["--help-hidden"]] {
            let text = try help(asked)
            #expect(text.contains("USAGE: shipkeep-agent <subcommand>"), "\(asked)")
            for command in Self.visible { #expect(text.contains("\n  \(command) "), "\(asked) lacks \(command)") }
            for command in Self.hidden { #expect(!text.contains(command), "\(asked) shows \(command)") }
        }
    }

    @Test func optionsAreReadInBothFormsWithDefaultsAndTheLastOfARepeatedValue() throws {
        let snapshot = try SnapshotCommand.parse(["--app=bots", "--json"])
        #expect(snapshot.config == "/etc/shipkeep/agent.yml" && snapshot.app == "bots" && snapshot.json)
        let again = try SnapshotCommand.parse(["--config", "/a", "--app", "x", "--config=/b", "--"])
        #expect(again.config == "/b" && again.app == "x" && !again.json)
        let bench = try SnapshotBenchCommand.parse(["--root", "/r", "--data", "a", "--snapshots", "/s", "--data=b"])
        #expect(bench.data == ["a", "b"] && bench.root == "/r" && bench.snapshots == "/s")
        let worker = try WorkerCommand.parse(["--config", "/c", "--app", "a", "--deploy", "d-1"])
        #expect(worker.action == "deploy" && worker.deploy == "d-1")
        #expect(try WorkerCommand.parse(["--config", "/c", "--app", "a", "--deploy", "d", "--action", "rollback"])
            .action == "rollback")
        #expect(try ServeCommand.parse(["--config", "-"]).config == "-", "a lone dash is a value")
        #expect(try CheckCommand.parse(["--config=--odd"]).config == "--odd", "a joined value may start with -")
        #expect(try VersionCommand.parse([]).json == false)
        guard case .run(let command) = try AgentCommandLine.parse(["serve", "--config", "/x"]) else {
            Issue.record("serve does not run")
            return
        }
        #expect((command as? ServeCommand)?.config == "/x")
    }

    @Test(arguments: [["--version"], ["serve", "--version"], ["snapshot", "--app", "x", "--version"]])
    func versionOnEveryCommand(arguments: [String]) throws {
        guard case .version = try AgentCommandLine.parse(arguments) else {
            Issue.record("\(arguments) does not print the version")
            return
        }
    }

    @Test(arguments: [
        (["bogus"], "unknown command 'bogus'", nil),
        (["--json"], "unknown option '--json'", nil),
        (["help", "--json"], "unknown option '--json'", nil),
        (["serve", "--bogus"], "unknown option '--bogus'", "serve"),
        (["serve", "-x"], "unknown option '-x'", "serve"),
        (["serve", "--config"], "missing value for '--config <FILE>'", "serve"),
        (["serve", "--config", "--json"], "missing value for '--config <FILE>'", "serve"),
        (["serve", "--config", "--", "/x"], "missing value for '--config <FILE>'", "serve"),
        (["serve", "extra"], "unexpected argument 'extra'", "serve"),
        (["version", "--", "x"], "unexpected argument 'x'", "version"),
        (["version", "--json=1"], "'--json' takes no value", "version"),
        (["snapshot"], "missing the required option '--app <NAME>'", "snapshot"),
        (["snapshot-bench", "--root", "/r", "--snapshots", "/s"], "missing the required option '--data <dir> ...'",
         "snapshot-bench"),
        (["worker", "--config", "/c", "--app", "a"], "missing the required option '--deploy <deploy>'", "worker"),
    ] as [([String], String, String?)])
    func usageErrorsNameTheProblemAndTheHelpToRead(arguments: [String], message: String, command: String?) throws {
        let error = try #require(usageError(arguments), "\(arguments) parsed")
        #expect(error.message == message)
        #expect(error.command == command)
        let help = "see `shipkeep-agent\(command.map { " " + $0 } ?? "") --help`"
        #expect(error.description == "\(message); \(help)")
        #expect(!error.description.contains("\n"))
    }

    /// The built agent, as sshd, the timer and `make bench` run it: statuses and streams, not only the parse.
    @Test func theBinaryAnswersHelpVersionAndUsageErrorsWithTheirStatuses() throws {
        let agent = try BuildProducts.path("shipkeep-agent")
        for arguments in [[]] + (Self.visible + Self.hidden).map({ [$0, "--help"] }) {
            let result = try runProcess([agent] + arguments)
            #expect(result.status == 0 && result.stderr.isEmpty, "\(arguments): \(result.stderr)")
            #expect(result.stdout.contains("USAGE: shipkeep-agent"), "\(arguments): \(result.stdout)")
        }
        let version = try runProcess([agent, "--version"])
        #expect(version.status == 0 && version.stdout == ShipkeepAgent.version + "\n", "\(version.stdout)")
        #expect(try runProcess([agent, "version", "--json"]).stdout.hasPrefix("{\"agentVersion\":"))
        for (arguments, words) in [(["serve", "--bogus"], "unknown option '--bogus'"),
                                   (["check", "--config"], "missing value for '--config <FILE>'"),
                                   (["snapshot", "--app", "x", "extra"], "unexpected argument 'extra'"),
                                   (["frobnicate"], "unknown command 'frobnicate'")] {
            let result = try runProcess([agent] + arguments)
            #expect(result.status == 64, "\(arguments): \(result.status)")
            #expect(result.stdout.isEmpty, "\(arguments): \(result.stdout)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("shipkeep-agent: \(words); see `shipkeep-agent"),
                    "\(arguments): \(result.stderr)")
        }
    }
}
