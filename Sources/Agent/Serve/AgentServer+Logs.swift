import Platform
import Shared

extension AgentServer {
    /// The most lines of each source one request asks for.
    static let maxLogLines = 10_000

    /// `logs`: the last lines of data files or of services' output, then (with `follow`) what they gain until
    /// the controller's input is readable or closed. Reads only inside the data dirs and the app's state; takes
    /// no lock (it changes nothing).
    func logs(_ request: Command.Logs, app: AppConfig, reply: inout Reply) {
        let lines = request.lines ?? 10
        guard (0...Self.maxLogLines).contains(lines) else {
            reply.emit(.result(.failure(.refused, "lines must be 0 to \(Self.maxLogLines), got \(lines)")))
            return
        }
        if let since = request.since, since <= 0 {
            reply.emit(.result(.failure(.refused, "since must be a positive number of seconds, got \(since)")))
            return
        }
        var warnings: [Event.Warning] = []
        let sources: [LogStreamer.Source]
        do {
            sources = try LogSelection.sources(request, app: app) { warnings.append(.init(code: $0, message: $1)) }
        } catch {
            reply.emit(.result(.failure(error.code, error.description)))
            return
        }
        for warning in warnings { reply.emit(.warning(warning)) }
        let since = request.since.map { Timestamp.now().addingTimeInterval(-Double($0)) }
        var local = reply
        LogStreamer(sources: sources).run(lines: lines, since: since, follow: request.follow == true ? input : nil) {
            local.emit($0)
        }
        reply = local
        reply.emit(.result(.success))
    }
}
