import ArgumentParser
import Foundation
import Shared

/// `shipkeep status`: a health probe for monitoring and for humans.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Report the code, data, disk, lock and last deploy of the apps on a VM.",
        discussion: """
            Exit status follows the Nagios plugin convention, so the command works as a monitoring check:
              0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (unreachable, refused host key, failed login, no agent).
            Examples:
              shipkeep status deploy@vm.example.com --app bots
              shipkeep status vm --format prometheus > /var/lib/node_exporter/textfile/shipkeep.prom
            """
    )

    /// Output formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, prometheus
    }

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: "Output format: text, json (JSON Lines, as --json) or prometheus.")
    var format: Format = .text

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    @Option(name: .long, help: ArgumentHelp(
        "Probe again every SECONDS over the same SSH session, until interrupted or the connection fails.",
        valueName: "seconds"))
    var watch: Double?

    @Option(name: .long, help: ArgumentHelp("With --watch: stop after this many probes.", valueName: "n"))
    var count: Int?

    func validate() throws {
        if let watch, watch <= 0 { throw ValidationError("--watch needs a number of seconds greater than 0") }
        if count != nil && watch == nil { throw ValidationError("--count goes with --watch") }
    }

    /// One status request over an open connection, rendered; returns the Nagios exit code.
    private func probe(_ connection: AgentConnection, resolved: ResolvedTarget, format: Format) throws(ControllerError)
        -> Int32 {
        var report: StatusReport?
        let result = try connection.session.request(.status(app: resolved.app)) { message in
            if case .status(let status) = message.event { report = status }
            if format == .json { JSONLines.emit(message) }
        }
        guard result.ok, let report else {
            throw ControllerError(.agent, result.error?.message ?? "the agent sent no status", code: result.error?.code)
        }
        let code = report.health.exitCode
        switch format {
        case .text: print(StatusText(terminal: .detect()).render(report, target: resolved.display))
        case .json: JSONLines.emit(.init(ok: code == 0, exitCode: code, target: resolved.display, health: report.health))
        case .prometheus: print(Prometheus.render(report, target: resolved.display), terminator: "")
        }
        return code
    }

    func run() throws {
        let format = json ? .json : format
        var targetName = target.target ?? target.host ?? "?"
        do {
            let resolved = try target.resolve()
            targetName = resolved.display
            let connection = try AgentConnection(resolved, verbose: target.verbose)
            defer { connection.close() }
            var code: Int32 = 0
            var probes = 0
            repeat {
                if probes > 0 { try connection.session.idle(seconds: watch ?? 0) }
                code = try probe(connection, resolved: resolved, format: format)
                probes += 1
                fflush(nil)
            } while watch != nil && probes < (count ?? .max)
            if code != 0 { throw ExitCode(code) }
        } catch let error as ControllerError {
            let code = Health.unknown.exitCode
            Terminal.error("shipkeep: status: \(error.message)")
            switch format {
            case .text: print(ControlCharacters.escaped("UNKNOWN \(targetName): \(error.message)"))
            case .json:
                JSONLines.emit(.init(ok: false, exitCode: code, target: targetName, health: .unknown,
                                     error: WireError(code: error.wireCode, message: error.message)))
            case .prometheus: print(Prometheus.render(nil, target: targetName), terminator: "")
            }
            throw ExitCode(code)
        }
    }
}
