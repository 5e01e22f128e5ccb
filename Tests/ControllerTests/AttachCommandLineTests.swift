import Testing
@testable import Controller

/// The `shipkeep attach …` a deploy prints names the target as the user gave it, and pastes into a shell as is.
@Suite struct AttachCommandLineTests {
    private func line(_ arguments: [String]) throws -> String {
        try TargetOptions.parse(arguments).commandLine("attach", ["--deploy", "d-20261201T112018Z-b995"])
    }

    @Test func aShipkeepYmlTargetStaysANameWithItsConfig() throws {
        #expect(try line(["prod", "--config", "deploy/shipkeep.yml"])
                == "shipkeep attach prod --config deploy/shipkeep.yml --deploy d-20261201T112018Z-b995")
    }

    @Test func anAliasKeepsItsJumpHostAndNonDefaultFlags() throws {
        #expect(try line(["vm1", "--jump", "ops@bastion:2222", "--app", "bots", "--timeout", "120"])
                == "shipkeep attach vm1 --jump ops@bastion:2222 --app bots --timeout 120 --deploy d-20261201T112018Z-b995")
    }

    @Test func wordsAShellWouldReadOtherwiseAreQuoted() throws {
        #expect(try line(["--host", "10.0.0.5", "--identity", "/home/me/my key", "--known-hosts", "~/kh"])
                == "shipkeep attach --host 10.0.0.5 --identity '/home/me/my key' --known-hosts '~/kh' "
                + "--deploy d-20261201T112018Z-b995")
        #expect(ShellQuote.word("it's") == #"'it'\''s'"#)
        #expect(ShellQuote.word("$(reboot)") == "'$(reboot)'")
    }

    @Test func settingsFromTheEnvironmentAreLeftToIt() throws {
        #expect(try line([]) == "shipkeep attach --deploy d-20261201T112018Z-b995")
    }
}
