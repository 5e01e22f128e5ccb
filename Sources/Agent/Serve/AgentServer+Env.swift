import Shared
import Platform

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
                reply.emit(.result(.failure(.envFile, "\(error)")))
            }
            return
        }
        guard let key = request.key else {
            reply.emit(.result(.failure(.badKey, "env \(request.action.rawValue) needs a key")))
            return
        }
        if let refusal = EnvKey.refusal(key, allowed: app.envKeys) {
            reply.emit(.result(.failure(.badKey, refusal)))
            return
        }
        var value: String?
        if request.action == .set {
            guard let given = request.value else {
                reply.emit(.result(.failure(.badValue, "env set \(key) needs a value")))
                return
            }
            if let refusal = EnvKey.valueRefusal(given) {
                reply.emit(.result(.failure(.badValue, "\(key): \(refusal)")))
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
            reply.emit(.result(.failure(.envFile, "\(error)")))
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
            time: .now(), action: .env, who: controller, outcome: .succeeded, detail: change))
        let when = request.restart == true ? "restarting the services now" : "it takes effect at the next restart "
            + "(a deploy, or `shipkeep env … \(change) --restart`)"
        reply.emit(.log(.init(stream: "stdout", line: "\(change) in \(file.path); \(when)", source: "env")))
        reply.emit(.env(Event.EnvKeys(app: app.name, file: file.path, keys: keys)))
        if request.restart == true {
            restartServices(app: app, reply: &reply)
        } else {
            reply.emit(.result(.success))
        }
    }

    /// Restarts the app's services as `shipkeep restart` does (under the lock, the gate asked, the service
    /// checks and the data guard after it, recorded in the history): the one restart path outside a deploy.
    func restartServices(app: AppConfig, reply: inout Reply) {
        controlServices(Command.ServiceControl(app: app.name, action: .restart, controller: controller), app: app,
                        reply: &reply)
    }
}
