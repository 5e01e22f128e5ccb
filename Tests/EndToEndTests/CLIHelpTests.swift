import Foundation
import Testing
import ShipkeepSandbox

/// `--help` on every command, and shell completions that know every command.
@Suite(.timeLimit(.minutes(10)))
struct CLIHelpTests {
    static let commands = ["status", "deploy", "rollback", "attach", "snapshots", "restore", "download", "unlock",
                           "init", "install", "env", "history", "logs", "restart", "stop", "start", "snapshot", "backups"]

    @Test(arguments: commands)
    func everyCommandHasHelpWithItsExitStatusOrUsage(command: String) throws {
        let result = try shipkeep([command, "--help"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("OVERVIEW: "), "\(result.stdout)")
        #expect(result.stdout.contains("USAGE: shipkeep \(command)"))
        #expect(result.stdout.contains("-h, --help"))
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionsKnowEveryCommand(shell: String) throws {
        let result = try shipkeep(["--generate-completion-script", shell])
        #expect(result.status == 0, "\(result.stderr)")
        for command in Self.commands {
            #expect(result.stdout.contains(command), "\(shell) completion lacks \(command)")
        }
        #expect(result.stdout.contains("known-hosts"))
    }

    @Test func theAgentHasHelpToo() throws {
        let agent = try BuildProducts.path("shipkeep-agent")
        for arguments in [["--help"], ["serve", "--help"], ["version", "--help"], ["check", "--help"],
                          ["snapshot", "--help"]] {
            let result = try runProcess([agent] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.stdout.contains("USAGE: shipkeep-agent"), "\(arguments): \(result.stdout)")
        }
    }

    @Test(arguments: [("deploy", ["--allow-branch"]), ("install", ["--replace", "--authorized-keys", "--deploy-key"]),
                      ("init", ["--remote-url"]), ("rollback", ["--parallel", "group"]),
                      ("attach", ["--parallel", "group"]), ("snapshots", ["--parallel", "group"]),
                      ("restore", ["--backup", "restic"]), ("backups", ["restic", "--backup ID"]),
                      ("snapshot", ["--parallel", "group"]),
                      ("install", ["--snapshot-timer", "--snapshot-calendar", "--remove-snapshot-timer"])])
    func theFlagsOfFirstDeployInstallAndGroupsAreExplained(command: String, words: [String]) throws {
        let result = try shipkeep([command, "--help"])
        #expect(result.status == 0, "\(result.stderr)")
        for word in words { #expect(result.stdout.contains(word), "\(command) --help lacks \(word)") }
    }
}
