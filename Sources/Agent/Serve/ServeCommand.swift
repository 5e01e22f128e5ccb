import Shared
import Platform

/// `shipkeep-agent serve`: the forced command sshd runs for the deploy key.
struct ServeCommand: AgentCommand {
    static let spec = CommandSpec(
        name: "serve",
        abstract: "Speak the shipkeep protocol on stdin/stdout (run by sshd as the deploy key's forced command).",
        discussion: """
            Reads JSON Lines requests on stdin and writes JSON Lines events on stdout; diagnostics go to \
            stderr. Put it in authorized_keys as:
              restrict,command="/usr/local/bin/shipkeep-agent serve --config /etc/shipkeep/agent.yml" ssh-ed25519 AAAA...
            Exit status: 0 at end of input, 2 after a protocol violation, 64 when the config cannot be used \
            (unreadable, invalid, or it or a state or snapshot dir is writable by another user).
            """,
        options: [.option("config", valueName: "FILE", default: "/etc/shipkeep/agent.yml",
                          help: "The agent configuration.")]
    )

    /// Exit status when `agent.yml` cannot be used: 64 (EX_USAGE), as every shipkeep and shipkeep-agent command
    /// exits for a usage or configuration error (it was 78, EX_CONFIG, before one policy covered both programs).
    static let exitConfigError: Int32 = UsageError.exitStatus

    var config: String

    init(_ options: ParsedOptions) {
        config = options.value("config")
    }

    func run() throws {
        // A controller that disappears must not kill the agent mid-write with SIGPIPE; writes fail instead.
        signal(SIGPIPE, SIG_IGN)
        let send: (EventMessage) -> Void = { message in
            var sent = StandardStreams.writeLine(WireCodec.encode(message))
            // A frame's bytes follow its line raw (Event.Frame).
            if sent, case .frame(let frame) = message.event { sent = StandardStreams.write(frame.data) }
            if !sent {
                StandardStreams.diagnose("the controller went away; stopping")
                Platform.exit(1)
            }
        }
        let agentConfig: AgentConfig
        do {
            agentConfig = try AgentConfig.load(file: config)
            // Files another user can write could make the agent run or overwrite anything it can.
            try PermissionCheck.check(agentConfig)
        } catch {
            StandardStreams.diagnose("\(error)")
            send(EventMessage(id: nil, seq: 1, event: .result(.failure(.configError, "\(error)"))))
            throw ExitCode(Self.exitConfigError)
        }
        // A deploy whose worker died holding the lock is finished (recovered) before any new work.
        for app in agentConfig.apps {
            if let record = Recovery.runIfNeeded(app), let message = record.message {
                StandardStreams.diagnose("recovered \(app.name): \(message)")
            }
        }
        let server = AgentServer(config: agentConfig, send: send)
        server.input = 0
        var framer = LineFramer()
        while true {
            let chunk = StandardStreams.read()
            if chunk.isEmpty {
                if case .exit(let code) = server.finish(pending: framer.finish()), code != 0 { throw ExitCode(code) }
                return
            }
            do {
                for line in try framer.append(chunk) {
                    if case .exit(let code) = server.handle(line: line) { throw ExitCode(code) }
                }
            } catch let error as ProtocolError {
                if case .exit(let code) = server.reject(id: nil, error) { throw ExitCode(code) }
            }
        }
    }
}
