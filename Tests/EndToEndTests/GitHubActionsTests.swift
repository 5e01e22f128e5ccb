import Foundation
import Testing
import ShipkeepSandbox

/// What a CI step sees: the controller run with GitHub Actions' environment.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct GitHubActionsTests {
    @Test func phasesAreGroupedAndTheJobSummaryIsWritten() throws {
        try withSandbox(bot: true) { vm in
            let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
            let summary = vm.root + "/step_summary.md"
            let key = try String(contentsOfFile: vm.server.userKeyPath, encoding: .utf8)
            var arguments = vm.controllerArguments
            let identity = try #require(arguments.firstIndex(of: "--identity"))
            arguments.removeSubrange(identity...(identity + 1))
            let result = try shipkeep(["deploy", "--commit", target] + arguments, environment: [
                "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary, "SHIPKEEP_SSH_KEY": key,
            ])
            #expect(result.status == 0, "\(result.stderr)")
            for phase in ["preflight", "snapshot", "update", "verify", "restart", "health"] {
                #expect(result.stdout.contains("::group::\(phase)\n"), "no group for \(phase)")
            }
            #expect(result.stdout.components(separatedBy: "::endgroup::").count == 7)
            let text = try String(contentsOfFile: summary, encoding: .utf8)
            #expect(text.contains("### shipkeep: deployed"))
            #expect(text.contains("`\(target.prefix(12))`"))
            #expect(text.contains("| snapshot |"))
            #expect(text.contains("| health | completed |"))
            #expect(!(result.stdout + result.stderr + text).contains("PRIVATE KEY"), "no key material printed")
        }
    }

    @Test func aRollbackIsAnErrorAnnotation() throws {
        try withSandbox(bot: true) { vm in
            try vm.commit(["check.sh": "#!/usr/bin/env bash\nexit 1\n"], message: "broken")
            let summary = vm.root + "/step_summary.md"
            let result = try shipkeep(["deploy"] + vm.controllerArguments, environment: [
                "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary,
            ])
            #expect(result.status == 1)
            #expect(result.stdout.contains("::error::unhealthy"), "\(result.stdout)")
            #expect(try String(contentsOfFile: summary, encoding: .utf8).contains("rolled back"))
        }
    }

    @Test func theActionPassesInputsOnlyThroughTheEnvironment() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let action = try String(contentsOf: root.appendingPathComponent("action.yml"), encoding: .utf8)
        #expect(action.contains("using: composite"))
        for input in ["target:", "host:", "user:", "app:", "ssh-key:", "known-hosts:", "fingerprint:", "commit:"] {
            #expect(action.contains("  \(input)"), "input \(input)")
        }
        #expect(action.contains("default: ${{ github.sha }}"))
        // No `${{ … }}` expression may be expanded into a `run:` script, where it would be shell text.
        var inRun = false
        for line in action.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("run: |") { inRun = true; continue }
            if inRun, !line.hasPrefix("        ") { inRun = false }
            if inRun { #expect(!line.contains("${{"), "expression in a script: \(line)") }
        }
    }
}
