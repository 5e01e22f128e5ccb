import ArgumentParser
import Foundation
import Shared

/// `shipkeep deploy GROUP`: resolves every member first, pushes once if asked, then runs the rollout and
/// renders it.
struct FleetCommand {
    let deploy: DeployCommand
    let members: [String]
    let wait: Int

    /// Runs the fleet deploy and exits with ``FleetDeploy/exitCode(_:)``.
    ///
    /// - Throws: `ExitCode` always.
    func run() throws -> Never {
        let json = deploy.json
        let terminal = Terminal.detect()
        var planned: [FleetDeploy.Member] = []
        do throws(ControllerError) {
            guard !members.isEmpty else { throw ControllerError(.usage, "the group \(deploy.target.target ?? "") is empty") }
            var resolved: [(String, ResolvedTarget)] = []
            for name in members {
                var options = deploy.target
                options.target = name
                do {
                    resolved.append((name, try options.resolve()))
                } catch {
                    throw ControllerError(error.kind, "target \(name): \(error.message)")
                }
            }
            if let shipping = resolved.first(where: { deploy.ships($0.1) }) {
                throw ControllerError(.usage, "--ship deploys one target at a time (\(shipping.0) ships): deploy "
                    + "each member of the group by name, or leave out --ship and ship: true")
            }
            let exact = try deploy.pushIfAsked() ?? deploy.commit
            for (name, target) in resolved {
                planned.append(.init(name: name, target: target,
                                     command: try deploy.command(for: target, exact: exact, wait: wait)))
            }
        } catch {
            Terminal.error("shipkeep: \(error.message)")
            if json {
                JSONLines.emit(.init(ok: false, exitCode: error.exitCode, target: deploy.target.target,
                                     error: WireError(code: error.wireCode, message: error.message)))
            }
            throw ExitCode(error.exitCode)
        }

        let canary = min(deploy.canary, planned.count)
        let renderer = FleetRenderer(terminal: terminal)
        let quiet = json || deploy.target.quiet
        if !quiet {
            let canaries = canary > 0 ? "\(canary) canary host(s) first, then " : ""
            print("deploying to \(deploy.target.target ?? "the group"): \(planned.count) hosts, \(canaries)"
                + "\(min(deploy.parallel, planned.count)) at a time")
        }
        armInterruptNotice(json: json)
        let printLock = NSLock()
        let results = FleetDeploy(members: planned, parallel: deploy.parallel, canary: canary).run(onHost: { host in
            printLock.withLock {
                if json { JSONLines.emit(host) } else if !quiet { print(renderer.hostLine(host)) }
                fflush(nil)
            }
        }, pin: { commit, member in
            try? deploy.command(for: member.target, exact: commit, wait: wait)
        })
        let code = FleetDeploy.exitCode(results)
        if json {
            JSONLines.emit(.init(ok: code == 0, exitCode: code, target: deploy.target.target, hosts: results))
        } else {
            print(renderer.table(results))
        }
        for host in results where !host.ok && host.outcome != "skipped" {
            Terminal.error("shipkeep: \(host.target): \(host.error?.message ?? host.outcome)")
        }
        throw ExitCode(code)
    }

    /// A signal mid-rollout prints that the deploys already started go on, and the command that follows each.
    private func armInterruptNotice(json: Bool) {
        let follow = members.map { name in
            var options = deploy.target
            options.target = name
            return options.commandLine("attach")
        }
        let message = "the deploys already started go on on their VMs; follow each with "
            + follow.map { "`\(ControlCharacters.escaped($0))`" }.joined(separator: ", ")
        let target = deploy.target.target
        Interrupts.onInterrupt { signal in
            let said = "interrupted (\(Interrupts.name(signal))): \(message)"
            guard json else { return Interrupts.Notice(stdout: said) }
            let result = JSONLines.Result(ok: false, exitCode: Interrupts.exitCode(for: signal), target: target,
                                          error: WireError(code: "interrupted", message: said))
            return Interrupts.Notice(stdout: String(decoding: WireCodec.encode(result), as: UTF8.self),
                                     stderr: "shipkeep: \(said)")
        }
    }
}
