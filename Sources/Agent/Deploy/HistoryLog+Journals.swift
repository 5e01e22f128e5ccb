import Platform
import Shared

extension HistoryLog {
    /// The app's history, newest first: the history file, and the deploys whose journals are still kept but that
    /// the file does not name (those that ran before this agent kept a history, or whose worker died before it
    /// could append), rebuilt from each journal's result and plan.
    func entries(app: AppConfig) -> [HistoryRecord] {
        let recorded = read()
        let named = Set(recorded.compactMap(\.deploy))
        let state = StateDirectory(path: app.state)
        let journals = ((try? FileSystem.names(in: state.deploysDir)) ?? [])
            .filter { $0.hasSuffix(".jsonl") }.map { String($0.dropLast(6)) }
            .filter { DeployID.isValid($0) && !named.contains($0) }
        let rebuilt = journals.compactMap { Self.record(of: $0, state: state) }
        // Stable for equal times: the file's order (the order things finished) wins.
        return (recorded + rebuilt).enumerated().sorted {
            $0.element.time != $1.element.time ? $0.element.time > $1.element.time : $0.offset > $1.offset
        }.map(\.element)
    }

    /// A finished deploy's record, from its journal's result and its plan; nil while it runs.
    private static func record(of deploy: String, state: StateDirectory) -> HistoryRecord? {
        let events = Journal.read(state.journal(deploy))
        guard let summary = events.lazy.reversed().compactMap({ message -> Event.Result? in
            if case .result(let result) = message.event { return result }
            return nil
        }).first else { return nil }
        let plan = DeployPlan.load(state, deploy: deploy)
        let finished = FileSystem.modificationSeconds(state.journal(deploy)).map(Timestamp.init(timeIntervalSince1970:))
            ?? Timestamp.now()
        let seconds = summary.deploy?.seconds
        let outcome = summary.deploy?.outcome ?? .of(summary)
        let who = plan?.controller
        let action: HistoryAction = outcome == .recovered ? .recovery
            : who?.hasPrefix("rollback of ") == true ? .rollback : .deploy
        return HistoryRecord(time: plan?.startedAt ?? finished.addingTimeInterval(-(seconds ?? 0)), action: action,
                             who: who, before: summary.deploy?.previousCommit ?? plan?.previousCommit,
                             after: summary.deploy?.commit ?? plan?.targetCommit, outcome: outcome, duration: seconds,
                             snapshot: summary.deploy?.snapshot?.id ?? plan?.snapshot, deploy: deploy,
                             detail: summary.error?.message)
    }
}
