import Shared

/// A failure the controller reports as one line on stderr, with an exit code that says what kind it was.
struct ControllerError: Error, CustomStringConvertible {
    /// What went wrong, which decides the exit code.
    enum Kind: String {
        /// Bad flags, environment or target.
        case usage
        /// The VM could not be reached, or the connection broke.
        case connection
        /// The host key is unknown, does not match or cannot be checked.
        case hostKey = "host_key"
        /// No key was accepted.
        case authentication
        /// The agent said something that is not the protocol, or stopped answering.
        case protocolError = "protocol"
        /// The agent answered the request with an error.
        case agent
        /// A step on this machine failed: before the VM was asked for anything (`git push`), or writing or
        /// checking a local file (a download's output).
        case local
    }

    let kind: Kind
    let message: String
    /// The agent's error code, for `.agent` errors.
    var code: ErrorCode?

    init(_ kind: Kind, _ message: String, code: ErrorCode? = nil) {
        self.kind = kind
        self.message = message
        self.code = code
    }

    /// The exit status for this failure: bad flags, environment or target (64, EX_USAGE: the VM was never
    /// asked, and asking again will not help); a local step failed safely (1: nothing on the VM changed); the
    /// agent's answer that the command or its configuration is wrong (64: an app agent.yml does not name, an id
    /// or path it refuses, an agent.yml it cannot use); anything else means the VM could not be asked (3).
    var exitCode: Int32 {
        switch kind {
        case .usage: DeployExit.usage
        case .local: DeployExit.failed
        case .agent where DeployExit.code(for: .failure(wireCode, message)) == DeployExit.usage: DeployExit.usage
        default: DeployExit.unreachable
        }
    }

    /// Whether this is a usage or configuration error (exit 64), which `status` reports as such rather than as
    /// UNKNOWN: the VM was asked, or never needed to be, and asking again will not help.
    var isUsage: Bool { exitCode == DeployExit.usage }

    /// The machine-readable code for `--json`.
    var wireCode: ErrorCode { code ?? ErrorCode(rawValue: kind.rawValue) }

    var description: String { message }
}

extension ControllerError {
    /// Translates an SSH failure.
    init(_ error: SSHError) {
        switch error.code {
        case .hostKeyUnknown, .hostKeyMismatch, .hostKeyUnverifiable: self.init(.hostKey, error.message)
        case .authentication: self.init(.authentication, error.message)
        default: self.init(.connection, error.message)
        }
    }
}
