import Foundation
import Shared
#if canImport(Glibc)
import Glibc
#endif

extension AgentServer {
    /// `env`: lists the keys of the app's env file, or sets or unsets one (under the file's lock, written
    /// atomically), then, with `restart`, restarts the services under the deploy lock. No value is ever put in
    /// an event, a message or the history: only keys.
    func env(_ request: Command.Env, app: AppConfig, reply: inout Reply) {
        let file = EnvFile(app: app)
        if request.action == .list {
            do {
                let keys = try file.load().map(\.key).sorted()
                reply.emit(.env(Event.EnvKeys(app: app.name, file: file.path, keys: keys)))
                reply.emit(.result(.success))
            } catch {
                reply.emit(.result(.failure("env_file", "\(error)")))
            }
            return
        }
        guard let key = request.key else {
            reply.emit(.result(.failure("bad_key", "env \(request.action.rawValue) needs a key")))
            return
        }
        if let refusal = EnvKey.refusal(key, allowed: app.envKeys) {
            reply.emit(.result(.failure("bad_key", refusal)))
            return
        }
        var value: String?
        if request.action == .set {
            guard let given = request.value else {
                reply.emit(.result(.failure("bad_value", "env set \(key) needs a value")))
                return
            }
            if let refusal = EnvKey.valueRefusal(given) {
                reply.emit(.result(.failure("bad_value", "\(key): \(refusal)")))
                return
            }
            value = given
        }
        let keys: [String]
        let existed: Bool
        do {
            let lock = try file.lock()
            defer { close(lock) }
            var variables = try file.load()
            existed = variables.contains { $0.key == key }
            variables.removeAll { $0.key == key }
            if let value { variables.append((key, value)) }
            if value != nil || existed { try file.write(variables) }
            keys = variables.map(\.key).sorted()
        } catch {
            reply.emit(.result(.failure("env_file", "\(error)")))
            return
        }
        guard value != nil || existed else {
            reply.emit(.log(.init(stream: "stdout", line: "\(key) is not set in \(file.path); nothing changed",
                                  source: "env")))
            reply.emit(.env(Event.EnvKeys(app: app.name, file: file.path, keys: keys)))
            reply.emit(.result(.success))
            return
        }
        let change = "\(request.action.rawValue) \(key)"
        HistoryLog(state: StateDirectory(path: app.state)).append(HistoryRecord(
            time: Date(), action: .env, who: controller, outcome: "succeeded", detail: change))
        let when = request.restart == true ? "restarting the services now" : "it takes effect at the next restart "
            + "(a deploy, or `shipkeep env … \(change) --restart`)"
        reply.emit(.log(.init(stream: "stdout", line: "\(change) in \(file.path); \(when)", source: "env")))
        reply.emit(.env(Event.EnvKeys(app: app.name, file: file.path, keys: keys)))
        if request.restart == true {
            restartServices(app: app, because: "env " + change, reply: &reply)
        } else {
            reply.emit(.result(.success))
        }
    }

    /// Restarts every service of `app` under its deploy lock and waits for the health checks, streaming their
    /// output; records the restart in the history. Ends the reply with its result.
    func restartServices(app: AppConfig, because reason: String, reply: inout Reply) {
        let state = StateDirectory(path: app.state)
        let lock: DeployLock.Held
        do {
            lock = try DeployLock.acquire(state, record: .init(deploy: "restart", controller: controller,
                                                                commit: nil, startedAt: Date(), pid: getpid()))
        } catch let busy as DeployLock.Busy {
            reply.emit(.result(.failure("locked", "app \(app.name) is locked by deploy \(busy.holder.deploy); the "
                + "change is written and takes effect when that deploy restarts the services")))
            return
        } catch {
            reply.emit(.result(.failure("state", "cannot take the lock: \(error)")))
            return
        }
        defer { lock.release() }
        let started = Date()
        let lines = LineBuffer()
        let services = Services(app: app) { source, stream, line in
            lines.logs.append(.init(stream: stream, line: String(line.prefix(4096)), source: source))
        }
        let failure = services.restartAll() ?? HealthChecker(app: app, services: services).wait()
        services.streamJournals()
        for log in lines.logs { reply.emit(.log(log)) }
        HistoryLog(state: state).append(HistoryRecord(
            time: started, action: .restart, who: controller, outcome: failure == nil ? "succeeded" : "failed",
            duration: Date().timeIntervalSince(started), service: app.services.map(\.name).joined(separator: ", "),
            detail: failure ?? "after " + reason))
        if let failure {
            reply.emit(.result(.failure("restart_failed", "the restart after \(reason) failed: \(failure); "
                + "see `shipkeep status`")))
        } else {
            reply.emit(.result(.success))
        }
    }
}

/// Output lines collected while services restart, relayed once they are done. A class so that the services'
/// line handler, which outlives no call, can append to it.
private final class LineBuffer {
    var logs: [Event.Log] = []
}
