import Foundation
import Testing
import ShipkeepSandbox

/// What a CI step sees: the controller run with GitHub Actions' environment.
@Suite(.serialized, .timeLimit(.minutes(10)))
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
            // Once: the annotation is the message; the summary line and stderr do not repeat it.
            #expect((result.stdout + result.stderr).components(separatedBy: "which is healthy").count == 2,
                    "\(result.stdout)\(result.stderr)")
            #expect(try String(contentsOfFile: summary, encoding: .utf8).contains("rolled back"))
        }
    }

    @Test func theActionPassesInputsOnlyThroughTheEnvironment() throws {
        let action = try String(contentsOfFile: ActionRunner.actionPath + "/action.yml", encoding: .utf8)
        #expect(action.contains("using: composite"))
        let inputs = try #require(try ActionRunner.action()["inputs"] as? [String: Any])
        for input in ["target", "host", "user", "app", "ssh-key", "known-hosts", "fingerprint", "commit", "download",
                      "controller"] {
            #expect(inputs[input] != nil, "input \(input)")
        }
        #expect(action.contains("default: ${{ github.sha }}"))
        // No `${{ … }}` expression may be expanded into a `run:` script, where it would be shell text.
        let scripts = try ActionRunner.steps().compactMap { $0["run"] as? String }
        #expect(scripts.count >= 3)
        for script in scripts { #expect(!script.contains("${{"), "expression in a script: \(script)") }
        // The action installs only what the controller needs: never the test suite's packages.
        #expect(!scripts.joined().contains("install-deps.sh\n"), "install-deps.sh without a mode installs test tools")
    }
}
