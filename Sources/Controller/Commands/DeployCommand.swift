import ArgumentParser
import Foundation
import Shared

/// `shipkeep deploy`: update an app to an exact commit without losing its data.
struct DeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy an exact commit: snapshot the data, update the code, verify, restart, check health.",
        discussion: """
            With neither --commit nor --ref, deploys the tip of the app's configured branch as fetched on the \
            VM, and reports the exact commit it chose. An unhealthy new commit is rolled back automatically. \
            The deploy runs in a worker on the VM: if this command is interrupted or the connection drops, the \
            deploy still finishes (or rolls back); `shipkeep attach` follows it.

            With --push (from a laptop), runs `git push` for the current branch first and then deploys exactly \
            the commit it pushed, never whatever the branch points to by the time the VM fetches. As a git \
            alias: git config alias.ship '!shipkeep deploy prod --push' — then `git ship`.

            With --ship (or ship: true for the target in shipkeep.yml), the commit travels over the SSH session: \
            the agent says which commits the VM has, this clone bundles only what it lacks (the whole history \
            when it knows none of them; a shallow clone fetches its history first), and git on the VM verifies \
            every object before the deploy uses the commit. Nothing is fetched on the VM. The app's agent.yml \
            must say ship: true (ship_max_bytes caps the bundle, default 512 MiB), and require_signed applies.

            Examples:
              shipkeep deploy prod            the branch tip; prod from shipkeep.yml
              shipkeep deploy prod --push     push this branch, deploy what was pushed
              shipkeep deploy prod --ship     send this clone's HEAD over SSH and deploy it
              shipkeep deploy --host vm1 --user bots --app bots --commit 3f2a9c1

            \(DeployExit.help)
            """
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("The exact commit to deploy (hex id).", valueName: "sha"))
    var commit: String?

    @Option(name: .long, help: ArgumentHelp("A branch or tag on the remote to deploy the tip of.", valueName: "ref"))
    var ref: String?

    @Flag(name: .long, help: "Discard changes made on the VM to tracked files instead of refusing.")
    var force = false

    @Flag(name: .long, help: "Run `git push` for the current branch first, then deploy exactly the commit pushed.")
    var push = false

    @Option(name: .customLong("push-remote"), help: ArgumentHelp(
        "With --push: the git remote to push to (default: the branch's upstream remote, else origin).",
        valueName: "remote"))
    var pushRemote: String?

    @Flag(name: .customLong("allow-dirty"), help: "With --push: push and deploy HEAD even with uncommitted changes.")
    var allowDirty = false

    @Flag(name: .long, help: ArgumentHelp(
        "Send the commit (--commit, else this clone's HEAD) over the SSH session as a git bundle of only what the "
            + "VM lacks, instead of having the VM fetch it: the VM needs no route to, and no credential for, the git "
            + "host. Run it in the app's clone. The VM's agent.yml must allow it (ship: true under the app). "
            + "Also `ship: true` for the target in shipkeep.yml."))
    var ship = false

    @Flag(name: .customLong("allow-branch"), help: ArgumentHelp(
        "With --push: push and deploy a branch other than the app's own (its branch: in the VM's agent.yml, which "
            + "is asked before pushing). The agent still deploys it only if agent.yml's allow_refs lists it."))
    var allowBranch = false

    @Option(name: .customLong("wait-lock"), help: ArgumentHelp(
        "Seconds to wait for a deploy already running on the app to finish, then deploy (default 0: exit 4 at "
            + "once; the VM's agent.yml caps it with lock.max_wait). One deploy waits per app: a newer request "
            + "replaces it, and it exits 4 (superseded). [env: SHIPKEEP_WAIT_LOCK]",
        valueName: "seconds"))
    var waitLock: Int?

    @Option(name: .long, help: ArgumentHelp(
        "For a group: deploy this many hosts at a time (default 4).", valueName: "n"))
    var parallel = 4

    @Option(name: .long, help: ArgumentHelp(
        "For a group: deploy this many hosts first, and stop if any of them fails (default 0).", valueName: "k"))
    var canary = 0

    @Flag(name: .customLong("ignore-gate"), help: "Do not ask agent.yml's gate: (an open trade) before the deploy.")
    var ignoreGate = false

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func validate() throws {
        if !(1...256).contains(parallel) { throw ValidationError("--parallel must be 1 to 256, got \(parallel)") }
        if canary < 0 { throw ValidationError("--canary must be 0 or more, got \(canary)") }
        if commit != nil && ref != nil { throw ValidationError("give --commit or --ref, not both") }
        if let commit, !(4...64).contains(commit.count) || !commit.allSatisfy(\.isHexDigit) {
            throw ValidationError("\(SettingNames().name(.commit)) must be a commit id (4 to 64 hex digits), got "
                + "\"\(commit)\"")
        }
        if let ref, ref.hasPrefix("-") || ref.isEmpty { throw ValidationError("--ref must be a branch or tag name") }
        if ship && ref != nil {
            throw ValidationError("--ship sends an exact commit: name it with --commit (default: this clone's HEAD)")
        }
        if push && (commit != nil || ref != nil) {
            throw ValidationError("--push deploys the commit it pushes; leave out --commit and --ref")
        }
        if !push && (pushRemote != nil || allowDirty || allowBranch) {
            throw ValidationError("--push-remote, --allow-dirty and --allow-branch go with --push")
        }
        if let waitLock, !(0...86_400).contains(waitLock) {
            throw ValidationError("--wait-lock must be 0 to 86400 seconds, got \(waitLock)")
        }
    }

    func run() throws {
        let wait = try lockWait()
        if let members = try target.groupMembersForCommand() {
            try FleetCommand(options: target, members: members, json: json, parallel: parallel, canary: canary,
                             prepare: { targets throws(ControllerError) in
                                 if let shipping = targets.first(where: { ships($0.target) }) {
                                     throw ControllerError(.usage, "--ship deploys one target at a time "
                                         + "(\(shipping.name) ships): deploy each member of the group by name, or "
                                         + "leave out --ship and ship: true")
                                 }
                                 return try pushIfAsked(to: targets, group: true) ?? commit
                             }, command: { resolved, exact throws(ControllerError) in
                                 try command(for: resolved, exact: exact, wait: wait)
                             }).run()
        }
        try AgentRequest(options: target, json: json).run({ resolved throws(ControllerError) in
            try command(for: resolved, exact: try pushIfAsked(to: [(resolved.name, resolved)]) ?? commit, wait: wait)
        }, exchange: shipExchange)
    }

    /// With --push: pushes and returns the exact commit pushed. Called once the target(s) resolved, so a typo
    /// fails before anything is pushed; the checks that need the VMs (``PushGuard``: the app's branch, edits
    /// on the VM, an unknown app) ask each target's agent before the push too.
    func pushIfAsked(to targets: [(name: String, target: ResolvedTarget)], group: Bool = false)
        throws(ControllerError) -> String? {
        guard push else { return nil }
        let git = GitPush(remote: pushRemote, allowDirty: allowDirty)
        let pushed = try git.prepare()
        try PushGuard(allowBranch: allowBranch, force: force, verbose: target.verbose)
            .check(pushed, targets: targets, skipUnreachable: group)
        try git.push(pushed)
        Terminal.error("shipkeep: pushed \(pushed.branch) to \(pushed.remote) "
            + "(\(pushed.remoteRef.replacingOccurrences(of: "refs/heads/", with: ""))); "
            + "deploying exactly \(pushed.commit.prefix(12))")
        return pushed.commit
    }

    /// The deploy request for one resolved target.
    func command(for resolved: ResolvedTarget, exact: String?, wait: Int) throws(ControllerError) -> Command {
        .deploy(Command.Deploy(app: try AgentRequest.requireApp(resolved), commit: exact, ref: exact == nil ? ref : nil,
                               force: force ? true : nil, controller: ControllerIdentity.current,
                               waitLock: wait > 0 ? wait : nil, ignoreGate: ignoreGate ? true : nil))
    }

    /// `--wait-lock`, else `SHIPKEEP_WAIT_LOCK`, else 0.
    private func lockWait() throws -> Int {
        if let waitLock { return waitLock }
        guard let text = ProcessInfo.processInfo.environment["SHIPKEEP_WAIT_LOCK"], !text.isEmpty else { return 0 }
        guard let value = Int(text), (0...86_400).contains(value) else {
            let names = SettingNames()
            throw ValidationError((names.inAction ? "\(names.name(.waitLock)) (\(text))" : "SHIPKEEP_WAIT_LOCK=\(text)")
                + " is not a number of seconds from 0 to 86400")
        }
        return value
    }
}

/// `shipkeep rollback`: put back the last commit that was live before the live one and differed from it.
struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Deploy the last commit that was live before the live one (data is never rolled back).",
        discussion: """
            The agent goes back to the last commit that was live and differed from the live one: a redeploy of \
            the live commit (to restart the bot) does not count. A rollback is a deploy (snapshot, verify, \
            restart, health), so rolling back twice returns to where it started. TARGET may be a group of \
            shipkeep.yml: each member rolls back to its own previous commit, --parallel at a time, then a table.

            \(DeployExit.help)
            """
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("For a group: roll back this many hosts at a time (default 4).",
                                            valueName: "n"))
    var parallel = 4

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func validate() throws {
        if !(1...256).contains(parallel) { throw ValidationError("--parallel must be 1 to 256, got \(parallel)") }
    }

    func run() throws {
        if let members = try target.groupMembersForCommand() {
            try FleetCommand(options: target, members: members, json: json, parallel: parallel, verb: .rollback) {
                resolved, _ throws(ControllerError) in .rollback(app: try AgentRequest.requireApp(resolved))
            }.run()
        }
        try AgentRequest(options: target, json: json).run { resolved throws(ControllerError) in
            .rollback(app: try AgentRequest.requireApp(resolved))
        }
    }
}

/// `shipkeep attach`: replay and follow a deploy's events.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Replay and follow the events of the running deploy (or the last one, or --deploy ID).",
        discussion: """
            TARGET may be a group of shipkeep.yml: each member's running (or last) deploy is followed to its end, \
            --parallel at a time, then a table of their outcomes (no --deploy or --from-seq then: ids differ per \
            host).

            \(DeployExit.help)
            """
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("The deploy id (default: the running one, else the last).",
                                            valueName: "id"))
    var deploy: String?

    @Option(name: .customLong("from-seq"), help: ArgumentHelp("Replay from this event number.", valueName: "n"))
    var fromSeq: Int?

    @Option(name: .long, help: ArgumentHelp("For a group: follow this many hosts at a time (default 4).",
                                            valueName: "n"))
    var parallel = 4

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func validate() throws {
        if !(1...256).contains(parallel) { throw ValidationError("--parallel must be 1 to 256, got \(parallel)") }
    }

    func run() throws {
        if let members = try target.groupMembersForCommand() {
            guard deploy == nil && fromSeq == nil else {
                throw ValidationError("--deploy and --from-seq name one host's deploy; leave them out for a group")
            }
            try FleetCommand(options: target, members: members, json: json, parallel: parallel, verb: .attach) {
                resolved, _ throws(ControllerError) in
                .attach(Command.Attach(app: try AgentRequest.requireApp(resolved), deploy: nil, fromSeq: nil))
            }.run()
        }
        try AgentRequest(options: target, json: json).run { resolved throws(ControllerError) in
            .attach(Command.Attach(app: try AgentRequest.requireApp(resolved), deploy: deploy, fromSeq: fromSeq))
        }
    }
}

/// `shipkeep unlock`: release a lock left by a dead deploy worker (recovering the app first).
struct UnlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Release the lock of a deploy whose worker died, after recovering the app. A live deploy is never unlocked."
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("The deploy id holding the lock (see `shipkeep status`).", valueName: "id"))
    var deploy: String

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func run() throws {
        try AgentRequest(options: target, json: json).run { resolved throws(ControllerError) in
            .unlock(app: try AgentRequest.requireApp(resolved), deploy: deploy)
        }
    }
}
