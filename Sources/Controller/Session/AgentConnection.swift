import Foundation
import Shared

/// An SSH connection with the agent running on it and the `hello` exchange done: what every command starts with.
final class AgentConnection {
    let target: ResolvedTarget
    let session: AgentSession
    private let ssh: SSHConnection
    private var closed = false

    /// Connects, verifies the host key, logs in, starts the agent and greets it.
    ///
    /// - Throws: ``ControllerError`` saying which step failed and what to do.
    init(_ target: ResolvedTarget, verbose: Bool) throws(ControllerError) {
        self.target = target
        if verbose, let jump = target.ssh.jump {
            Terminal.error("shipkeep: going through jump host \(jump.user)@\(jump.endpoint) to \(target.display)")
        }
        do {
            ssh = try SSHConnection.connect(target.ssh)
        } catch {
            throw ControllerError(error)
        }
        if verbose {
            if let key = ssh.jumpHostKey, let jump = target.ssh.jump {
                Terminal.error("shipkeep: jump host \(jump.endpoint), host key \(key.type) \(key.fingerprint)")
            }
            let key = ssh.hostKey
            Terminal.error("shipkeep: connected to \(target.display), host key \(key.type) \(key.fingerprint)")
        }
        let channel: SSHChannel
        do {
            channel = try ssh.exec(target.remoteCommand)
        } catch {
            ssh.disconnect()
            throw ControllerError(error)
        }
        session = AgentSession(channel: channel, onDiagnostic: { line in
            if verbose { Terminal.error("agent: \(line)") }
        })
        let upgrade = "`shipkeep install \(target.name)` puts this shipkeep's agent on the VM"
        let reply: Event.HelloReply
        do {
            reply = try session.hello()
        } catch {
            ssh.disconnect()
            if error.code == ProtocolError.Code.unsupportedVersion.wire {
                throw ControllerError(error.kind, "\(error.message); the agent speaks another protocol version: "
                    + upgrade, code: error.code)
            }
            throw error
        }
        if reply.agentVersion != WireProtocol.toolVersion {
            Terminal.error("shipkeep: warning: the agent on \(target.display) is version \(reply.agentVersion) and this "
                + "shipkeep is \(WireProtocol.toolVersion); \(upgrade)")
        }
    }

    /// Ends the agent's input, waits for it to exit, and disconnects. Errors here change nothing that was
    /// already answered, so they are ignored.
    func close() {
        guard !closed else { return }
        closed = true
        _ = try? session.close()
        ssh.disconnect()
    }

    /// Drops the connection without waiting for the agent to finish: for a request given up half-way (a
    /// download whose output cannot be written), where draining the rest of the stream would be wasted.
    /// The agent sees its output closed and exits.
    func abandon() {
        guard !closed else { return }
        closed = true
        ssh.disconnect()
    }
}
