import Shared

extension AgentServer {
    /// How many entries `history` sends when the request names no limit.
    static let defaultHistoryLimit = 20

    /// `history`: the app's history, newest first, one `history` event per entry.
    func history(_ request: Command.History, app: AppConfig, reply: inout Reply) {
        let limit = min(max(request.limit ?? Self.defaultHistoryLimit, 1), HistoryLog.defaultKept)
        let entries = HistoryLog(state: StateDirectory(path: app.state)).entries(app: app)
        for entry in entries.prefix(limit) { reply.emit(.history(entry)) }
        reply.emit(.result(.success))
    }
}
