import Shared

/// Exit statuses of the commands that change a VM (`deploy`, `rollback`, `attach`, `restore`, `unlock`).
enum DeployExit {
    /// The new commit is live and healthy (or the request did what it asked).
    static let ok: Int32 = 0
    /// It failed, and the app is at a known good commit: unchanged (refused) or rolled back.
    static let failed: Int32 = 1
    /// It failed and the app needs attention: the rollback failed or the old commit is unhealthy too.
    static let needsAttention: Int32 = 2
    /// The VM could not be asked: unreachable, host key refused, login failed, agent missing.
    static let unreachable: Int32 = 3
    /// Another deploy holds the app's lock, or a newer request (or a newer live commit) superseded this one.
    static let locked: Int32 = 4
    /// A usage or configuration error (EX_USAGE, as swift-argument-parser exits for a bad flag): a flag, a
    /// shipkeep.yml, or an app the VM's agent.yml does not name. Fix the command or the file; retrying won't help.
    static let usage: Int32 = 64

    /// The exit status for a request's result.
    static func code(for result: Event.Result) -> Int32 {
        if result.ok { return ok }
        switch result.error?.code {
        case .locked, .superseded: return locked
        case .rollbackUnhealthy, .rollbackFailed, .workerDied, .firstDeployUnhealthy: return needsAttention
        // restart, stop, start: the services were touched and are not as asked, and nothing rolls them back.
        case .unhealthy, .restartFailed, .stopFailed, .startFailed: return needsAttention
        // A request the agent refused as written (an app or service agent.yml does not name, an id or path that
        // is not one, a stop agent.yml gives no command for): fix the command or agent.yml; asking again will not
        // help.
        case .unknownApp, .configError, .invalidPath, .invalidSnapshot, .invalidDeploy, .unknownService,
             .noStopCommand:
            return usage
        case .unsupported: return unreachable
        default: return failed
        }
    }

    static let help = """
        Exit status: 0 the new commit is live and healthy; 1 failed, code unchanged or rolled back; \
        2 failed and the app needs attention; 3 the VM could not be asked; 4 another deploy holds the lock, or \
        superseded this one while it waited; 64 a usage or configuration error (a flag, shipkeep.yml, an app \
        agent.yml does not name); 130/143 interrupted (the deploy goes on on the VM).
        """
}
