import ArgumentParser
import Foundation
import Platform
import Shared

/// `shipkeep status`: a health probe for monitoring and for humans.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Check the apps on a VM as a deploy does: services, freshness, data, disk, lock and last deploy.",
        discussion: """
            The agent runs each service's check (systemctl is-active for systemd services), the health \
            command and the freshness rule of agent.yml, bounded by their timeouts; a failing check or stale \
            data is CRITICAL, named on the first line. While a deploy holds the lock those checks are skipped \
            (its own health phase runs them). TARGET may be a group of shipkeep.yml: every member is probed \
            in parallel, and the exit status is the worst of them.
            Exit status follows the Nagios plugin convention, so the command works as a monitoring check:
              0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (unreachable, refused host key, failed login, no agent);
              64 a usage or configuration error (a flag, shipkeep.yml, an app agent.yml does not name, a \
            --textfile that cannot be written): fix the check, retrying will not help.
            With --textfile the exit status is 0 whenever the file was written (the verdict is in the metrics).
            Examples:
              shipkeep status deploy@vm.example.com --app bots
              shipkeep status prod --textfile /var/lib/node_exporter/textfile/shipkeep.prom
              shipkeep status all --json                      # a shipkeep.yml group
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
        "Write the Prometheus metrics to FILE (through a temporary file renamed into place) and exit 0 whenever "
            + "it was written, for node_exporter's textfile collector; the verdict is in the metrics.",
        valueName: "file"))
    var textfile: String?

    @Option(name: .long, help: ArgumentHelp(
        "Probe again every SECONDS over the same SSH session until interrupted; when the session dies, report "
            + "UNKNOWN and reconnect (backing off from 1 s to 30 s, or SECONDS if longer).",
        valueName: "seconds"))
    var watch: Double?

    @Option(name: .long, help: ArgumentHelp("With --watch: stop after this many probes.", valueName: "n"))
    var count: Int?

    @Option(name: .long, help: ArgumentHelp("For a group: probe this many hosts at a time (default 16).",
                                            valueName: "n"))
    var parallel = 16

    func validate() throws {
        if let watch, watch <= 0 { throw ValidationError("--watch needs a number of seconds greater than 0") }
        if count != nil && watch == nil { throw ValidationError("--count goes with --watch") }
        if let count, count < 1 { throw ValidationError("--count needs at least 1 probe") }
        if parallel < 1 { throw ValidationError("--parallel needs at least 1") }
        if textfile != nil && (json || ![.text, .prometheus].contains(format)) {
            throw ValidationError("--textfile writes Prometheus metrics; leave out --json and --format")
        }
    }

    /// The format actually written.
    var output: Format { textfile != nil ? .prometheus : json ? .json : format }

    func run() throws {
        var targetName = target.target ?? target.host ?? "?"
        let resolved: ResolvedTarget
        // A configuration error exits 64 (the probe says so), not UNKNOWN: the VM was never asked.
        let members: [String]?
        do {
            members = try target.groupMembers()
        } catch {
            throw ExitCode(present(StatusProbe(target: targetName, error: error)))
        }
        if let members {
            guard watch == nil else { throw ValidationError("--watch takes one target, not a group") }
            throw ExitCode(StatusFleet(command: self, group: targetName, members: members).run())
        }
        do {
            resolved = try target.resolve()
            targetName = resolved.display
        } catch {
            throw ExitCode(present(StatusProbe(target: targetName, error: error)))
        }
        guard watch != nil else {
            throw ExitCode(present(StatusProbe.run(resolved, verbose: target.verbose)))
        }
        throw ExitCode(StatusWatch(command: self, resolved: resolved).run())
    }

    /// Writes one probe in the chosen format (JSON: the status event as the agent sent it, then the result line)
    /// and returns the exit status: the probe's, or with --textfile 0 once the file is written.
    func present(_ probe: StatusProbe) -> Int32 {
        if let error = probe.error {
            Terminal.error("shipkeep: status: \(error.message)")
        }
        let code = probe.exitCode
        switch output {
        case .text:
            if let report = probe.report {
                print(StatusText(terminal: .detect()).render(report, target: probe.target))
            } else {
                print(ControlCharacters.escaped("UNKNOWN \(probe.target): \(probe.error?.message ?? "no answer")"))
            }
        case .json:
            if let message = probe.message { JSONLines.emit(message) }
            JSONLines.emit(.init(ok: code == 0, exitCode: code, target: probe.target, health: probe.health,
                                 error: probe.error.map { WireError(code: $0.wireCode, message: $0.message) }))
        case .prometheus:
            let metrics = Prometheus.render([probe.metrics])
            if let textfile { return Self.write(metrics, to: textfile) }
            print(metrics, terminator: "")
        }
        fflush(nil)
        return code
    }

    /// Writes `text` to `file` the way the textfile collector needs: a temporary file beside it (whose name
    /// does not end in `.prom`, so it is never collected half-written), flushed to disk, renamed into place.
    ///
    /// - Returns: 0 when written, else 64 (the path given cannot be used) with one line on stderr.
    static func write(_ text: String, to file: String) -> Int32 {
        let temporary = "\(file).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            Terminal.error("shipkeep: status: cannot write \(temporary): \(String(cString: strerror(errno))); "
                + "check that its directory exists and is writable")
            return DeployExit.usage
        }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Platform.write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            written += count
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, file) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            Terminal.error("shipkeep: status: cannot write \(file): \(why)")
            return DeployExit.usage
        }
        return 0
    }
}
