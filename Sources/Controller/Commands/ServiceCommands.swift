import ArgumentParser
import Foundation
import Shared

/// What `restart`, `stop` and `start` share: the target, `--service`, `--ignore-gate`, `--json`.
struct ServiceOptions: ParsableArguments {
    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp(
        "Only this service: a command service's name or a systemd unit (default: all of them, in order).",
        valueName: "name"))
    var service: String?

    @Flag(name: .customLong("ignore-gate"), help: "Do not ask agent.yml's gate: (an open trade) first.")
    var ignoreGate = false

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    /// Sends the request for `action` and exits with its status.
    func run(_ action: ServiceAction) throws {
        try AgentRequest(options: target, json: json).run { resolved throws(ControllerError) in
            .service(Command.ServiceControl(app: try AgentRequest.requireApp(resolved), action: action, service: service,
                                            controller: ControllerIdentity.current,
                                            ignoreGate: ignoreGate ? true : nil))
        }
    }

    static let exitHelp = """
        Exit status: 0 done (and, after a restart or start, healthy); 1 refused, nothing done (the gate said busy \
        until gate_timeout); 2 needs attention (the command failed, or the service came back unhealthy: nothing \
        is rolled back); 3 the VM could not be asked; 4 a deploy or another action holds the app's lock; 64 a \
        usage or configuration error, nothing done (a service agent.yml does not name, a stop with no stop: \
        command).
        """
}

/// `shipkeep restart`: restart services without a deploy.
struct RestartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Restart the app's services (or one) without a deploy, then check their health.",
        discussion: """
            Takes the app's lock, asks agent.yml's gate: (retried until gate_timeout while it says busy; \
            --ignore-gate skips it), restarts as a deploy does (restart: argv, or systemctl restart), then runs \
            the health phase: service checks, the health command and freshness, and the data guard against the \
            data as it was just before the restart. No snapshot is taken and no code changes. Recorded in the \
            app's history.
            \(ServiceOptions.exitHelp)
            """
    )

    @OptionGroup var options: ServiceOptions

    func run() throws {
        try options.run(.restart)
    }
}

/// `shipkeep stop`: stop services.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop the app's services (or one): systemctl stop, or a command service's stop: argv.",
        discussion: """
            Takes the app's lock and asks agent.yml's gate: first (--ignore-gate skips it). A command service \
            needs stop: [argv…] in agent.yml; without it nothing is stopped (exit 64). A deploy or a restart \
            starts a stopped service again. Recorded in the app's history.
            \(ServiceOptions.exitHelp)
            """
    )

    @OptionGroup var options: ServiceOptions

    func run() throws {
        try options.run(.stop)
    }
}

/// `shipkeep start`: start services.
struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start the app's services (or one), then check their health.",
        discussion: """
            Takes the app's lock, starts (systemctl start, or a command service's start: argv, else its \
            restart:), then runs the health phase as restart does. The gate is not asked: nothing runs to be \
            interrupted. Recorded in the app's history.
            \(ServiceOptions.exitHelp)
            """
    )

    @OptionGroup var options: ServiceOptions

    func run() throws {
        try options.run(.start)
    }
}
