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

            Examples:
              shipkeep deploy prod            the branch tip; prod from shipkeep.yml
              shipkeep deploy prod --push     push this branch, deploy what was pushed
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
            throw ValidationError("--commit must be a commit id (4 to 64 hex digits), got \"\(commit)\"")
        }
        if let ref, ref.hasPrefix("-") || ref.isEmpty { throw ValidationError("--ref must be a branch or tag name") }
        if push && (commit != nil || ref != nil) {
            throw ValidationError("--push deploys the commit it pushes; leave out --commit and --ref")
        }
        if !push && (pushRemote != nil || allowDirty) {
            throw ValidationError("--push-remote and --allow-dirty go with --push")
        }
        if let waitLock, !(0...86_400).contains(waitLock) {
            throw ValidationError("--wait-lock must be 0 to 86400 seconds, got \(waitLock)")
        }
    }

    func run() throws {
        let wait = try lockWait()
        if let members = try groupMembers() {
            try FleetCommand(deploy: self, members: members, wait: wait).run()
        }
        try AgentRequest(options: target, json: json).run { resolved throws(ControllerError) in
            try command(for: resolved, exact: try pushIfAsked() ?? commit, wait: wait)
        }
    }

    /// The group TARGET names in shipkeep.yml, with usage errors as `ValidationError`s.
    private func groupMembers() throws -> [String]? {
        do {
            return try target.groupMembers()
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// With --push: pushes and returns the exact commit pushed. Called once the target(s) resolved, so a typo
    /// fails before anything is pushed, and before connecting.
    func pushIfAsked() throws(ControllerError) -> String? {
        guard push else { return nil }
        let pushed = try GitPush(remote: pushRemote, allowDirty: allowDirty).run()
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
            throw ValidationError("SHIPKEEP_WAIT_LOCK=\(text) is not a number of seconds from 0 to 86400")
        }
        return value
    }
}

/// `shipkeep rollback`: put back the commit that was live before the last successful deploy.
struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Deploy the commit that was live before the last successful deploy (data is never rolled back).",
        discussion: DeployExit.help
    )

    @OptionGroup var target: TargetOptions

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func run() throws {
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
        discussion: DeployExit.help
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("The deploy id (default: the running one, else the last).",
                                            valueName: "id"))
    var deploy: String?

    @Option(name: .customLong("from-seq"), help: ArgumentHelp("Replay from this event number.", valueName: "n"))
    var fromSeq: Int?

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func run() throws {
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
