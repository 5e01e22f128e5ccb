import ArgumentParser
import Foundation
import Shared

/// A command run on every member of a `shipkeep.yml` group (`deploy`, `rollback`, `attach`, `snapshots`):
/// resolves every member first, runs what must happen once before (`deploy --push` pushes once), then the
/// rollout, and renders it.
struct FleetCommand {
    /// What the command does to each host, for the progress line and the verdict.
    struct Verb {
        /// "deploying to", "rolling back": the line before the rollout.
        var doing: String
        /// "deployed", "rolled back": the verdict, "all 3 hosts deployed".
        var done: String
        /// Whether each host's line names the snapshot its result carries (`snapshot GROUP`).
        var showsSnapshot = false

        static let deploy = Verb(doing: "deploying to", done: "deployed")
        static let rollback = Verb(doing: "rolling back", done: "rolled back")
        static let attach = Verb(doing: "attaching to the deploys of", done: "succeeded")
        static let snapshots = Verb(doing: "listing the snapshots of", done: "listed")
        static let snapshot = Verb(doing: "taking a snapshot on", done: "snapshotted", showsSnapshot: true)
    }

    let options: TargetOptions
    let members: [String]
    let json: Bool
    var parallel = 4
    var canary = 0
    var verb = Verb.deploy
    /// Runs once, after every member resolved and before anything connects for the rollout; returns the exact
    /// commit for every member (`deploy --push`), or nil.
    var prepare: ([(name: String, target: ResolvedTarget)]) throws(ControllerError) -> String? = { _ in nil }
    /// The request for one member, given the exact commit `prepare` returned (or the canaries deployed).
    let command: (ResolvedTarget, String?) throws(ControllerError) -> Command

    /// Runs the rollout and exits with ``FleetDeploy/exitCode(_:)``.
    ///
    /// - Throws: `ExitCode` always.
    func run() throws -> Never {
        let group = options.target ?? ""
        let terminal = Terminal.detect()
        var planned: [FleetDeploy.Member] = []
        do throws(ControllerError) {
            guard !members.isEmpty else { throw ControllerError(.usage, "the group \(group) is empty") }
            var resolved: [(name: String, target: ResolvedTarget)] = []
            for name in members {
                var memberOptions = options
                memberOptions.target = name
                do {
                    resolved.append((name, try memberOptions.resolve()))
                } catch {
                    throw ControllerError(error.kind, "target \(name): \(error.message)")
                }
            }
            let exact = try prepare(resolved)
            for (name, target) in resolved {
                planned.append(.init(name: name, target: target, command: try command(target, exact)))
            }
        } catch {
            Terminal.error("shipkeep: \(error.message)")
            if json {
                JSONLines.emit(.init(ok: false, exitCode: error.exitCode, target: options.target,
                                     error: WireError(code: error.wireCode, message: error.message)))
            }
            throw ExitCode(error.exitCode)
        }

        let canary = min(self.canary, planned.count)
        let renderer = FleetRenderer(terminal: terminal, done: verb.done, showsSnapshot: verb.showsSnapshot)
        let quiet = json || options.quiet
        if !quiet {
            let canaries = canary > 0 ? "\(canary) canary host(s) first, then " : ""
            print("\(verb.doing) \(group.isEmpty ? "the group" : group): \(planned.count) hosts, \(canaries)"
                + "\(min(parallel, planned.count)) at a time")
        }
        armInterruptNotice(json: json)
        let printLock = NSLock()
        let command = self.command
        let json = self.json
        let results = FleetDeploy(members: planned, parallel: parallel, canary: canary).run(onHost: { host in
            printLock.withLock {
                if json { JSONLines.emit(host) } else if !quiet { print(renderer.hostLine(host)) }
                fflush(nil)
            }
        }, pin: { commit, member in
            try? command(member.target, commit)
        })
        let code = FleetDeploy.exitCode(results)
        if json {
            JSONLines.emit(.init(ok: code == 0, exitCode: code, target: options.target, hosts: results))
        } else {
            for host in results where host.snapshots != nil && !options.quiet {
                print(renderer.snapshots(host))
            }
            print(renderer.table(results))
        }
        for host in results where !host.ok && host.outcome != .skipped {
            Terminal.error("shipkeep: \(host.target): \(host.error?.message ?? host.outcome.rawValue)")
        }
        throw ExitCode(code)
    }

    /// A signal mid-rollout prints that the deploys already started go on, and the command that follows each.
    private func armInterruptNotice(json: Bool) {
        let follow = members.map { name in
            var options = self.options
            options.target = name
            return options.commandLine("attach")
        }
        let message = "the deploys already started go on on their VMs; follow each with "
            + follow.map { "`\(ControlCharacters.escaped($0))`" }.joined(separator: ", ")
        let target = options.target
        Interrupts.onInterrupt { signal in
            let said = "interrupted (\(Interrupts.name(signal))): \(message)"
            guard json else { return Interrupts.Notice(stdout: said) }
            let result = JSONLines.Result(ok: false, exitCode: Interrupts.exitCode(for: signal), target: target,
                                          error: WireError(code: .interrupted, message: said))
            return Interrupts.Notice(stdout: String(decoding: WireCodec.encode(result), as: UTF8.self),
                                     stderr: "shipkeep: \(said)")
        }
    }
}
