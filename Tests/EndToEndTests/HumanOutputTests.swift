import Foundation
import Testing
import ShipkeepSandbox

/// What a person sees: a live bar and colours on a terminal only, plain lines in logs, `--quiet`.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct HumanOutputTests {
    private static let escape = "\u{1B}["

    /// Runs shipkeep on a pseudo-terminal (`script`), as a developer's shell would.
    private func onTerminal(_ arguments: [String], noColor: Bool) throws -> ProcessResult {
        let command = ([try BuildProducts.path("shipkeep")] + arguments).map { "'\($0)'" }.joined(separator: " ")
        var environment = ["SSH_AUTH_SOCK": "", "SHIPKEEP_SSH_CONFIG": "/dev/null", "TERM": "xterm", "COLUMNS": "120"]
        environment["NO_COLOR"] = noColor ? "1" : ""
        return try runProcess(["script", "-qfec", command, "/dev/null"], environment: environment)
    }

    @Test func aTerminalGetsABarAndColoursLogsGetPlainLines() throws {
        try withSandbox(bot: true) { vm in
            try vm.fillData(files: 300, bytesEach: 64 * 1024)
            let arguments = ["deploy"] + vm.controllerArguments

            let tty = try onTerminal(arguments, noColor: false)
            #expect(tty.status == 0, "\(tty.stdout)")
            #expect(tty.stdout.contains("\r\(Self.escape)2K    snapshot "), "no live progress line:\n\(tty.stdout)")
            let bar = "    snapshot +\\[[#·]{20}\\] +[0-9]+%  [0-9.]+ [KM]iB / [0-9.]+ MiB  [0-9]+/31[0-9] files(  [0-9.]+ [KMG]?i?B/s)?"
            #expect(tty.stdout.range(of: bar, options: .regularExpression) != nil, "no bar:\n\(tty.stdout)")
            #expect(tty.stdout.contains("\(Self.escape)32m"), "no colour on a terminal")

            let noColor = try onTerminal(arguments, noColor: true)
            #expect(noColor.status == 0, "\(noColor.stdout)")
            #expect(noColor.stdout.range(of: bar, options: .regularExpression) != nil, "the bar is not colour:\n\(noColor.stdout)")
            #expect(!noColor.stdout.contains("\(Self.escape)32m") && !noColor.stdout.contains("\(Self.escape)2m"),
                    "NO_COLOR was ignored:\n\(noColor.stdout)")

            let log = try shipkeep(arguments, environment: ["NO_COLOR": ""])
            #expect(log.status == 0, "\(log.stderr)")
            #expect(!log.stdout.contains(Self.escape) && !log.stdout.contains("\r"), "escapes in a log:\n\(log.stdout)")
            for phase in ["preflight", "snapshot", "update", "verify", "restart", "health"] {
                #expect(log.stdout.range(of: "✓ \(phase) +[0-9]+\\.[0-9]s", options: .regularExpression) != nil,
                        "no line with the duration of \(phase):\n\(log.stdout)")
            }
            let summary = try #require(log.stdout.split(separator: "\n").last.map(String.init))
            #expect(summary.range(of: "^deployed [0-9a-f]{12} → [0-9a-f]{12} in [0-9.]+s; snapshot .*: 3[0-9]+ linked, "
                                  + "[0-9]+ copied", options: .regularExpression) != nil, "\(summary)")
            vm.stopBot()
        }
    }

    @Test func quietPrintsOnlyTheSummary() throws {
        try withSandbox(bot: true) { vm in
            try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let quiet = try shipkeep(["deploy", "--quiet"] + vm.controllerArguments)
            #expect(quiet.status == 0, "\(quiet.stderr)")
            let lines = quiet.stdout.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("deployed "), "\(quiet.stdout)")
            let both = try shipkeep(["deploy", "--quiet", "--verbose"] + vm.controllerArguments)
            #expect(both.status == 64, "\(both.stderr)")
            vm.stopBot()
        }
    }
}
