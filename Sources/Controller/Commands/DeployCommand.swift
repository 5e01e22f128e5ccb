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

    @Option(name: .customLong("wait-lock"), help: ArgumentHelp(
        "Seconds to wait for a deploy already running on the app to finish, then deploy (default 0: exit 4 at "
            + "once). Concurrent deploys that wait run one after another. [env: SHIPKEEP_WAIT_LOCK]",
        valueName: "seconds"))
    var waitLock: Int?

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func validate() throws {
        if commit != nil && ref != nil { throw ValidationError("give --commit or --ref, not both") }
        if let commit, !(4...64).contains(commit.count) || !commit.allSatisfy(\.isHexDigit) {
            throw ValidationError("--commit must be a commit id (4 to 64 hex digits), got \"\(commit)\"")
        }
        if let ref, ref.hasPrefix("-") || ref.isEmpty { throw ValidationError("--ref must be a branch or tag name") }
        if let waitLock, !(0...86_400).contains(waitLock) {
            throw ValidationError("--wait-lock must be 0 to 86400 seconds, got \(waitLock)")
        }
    }

    func run() throws {
        let wait = try lockWait()
        try AgentRequest(options: target, json: json).run { resolved throws(ControllerError) in
            .deploy(Command.Deploy(app: try AgentRequest.requireApp(resolved), commit: commit, ref: ref,
                                   force: force ? true : nil, controller: ControllerIdentity.current,
                                   waitLock: wait > 0 ? wait : nil))
        }
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
