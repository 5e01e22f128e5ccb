import Platform
import Shared

/// Sends the lines of a `logs` request's sources as `log` events, and with `follow` keeps sending what they
/// gain until the controller's input is readable or closed (Ctrl-C closes the channel; a new request also ends
/// the follow), with a heartbeat while they are quiet.
struct LogStreamer {
    enum Source {
        case file(FileLogSource)
        case journal(JournalLogSource)

        var label: String {
            switch self {
            case .file(let file): file.label
            case .journal(let journal): journal.label
            }
        }

        var stream: String {
            switch self {
            case .file(let file): file.stream
            case .journal: "journal"
            }
        }
    }

    let sources: [Source]
    /// The longest wait between two looks at the sources (writes wake the follower at once, through inotify).
    static let pollInterval = 0.5
    /// The shortest time between two looks: a bot that writes 1,000 lines a second wakes the follower as often,
    /// and each look reopens every followed name (to see a rotation); batching costs at most this much delay.
    static let minimumInterval = 0.05

    /// Streams to `emit`; with `input`, follows until it is readable.
    func run(lines: Int, since: Timestamp?, follow input: Int32?, emit: (Event) -> Void) {
        for source in sources {
            let out: [FileLogSource.Output]
            switch source {
            case .file(let file): out = file.start(lines: lines, since: since)
            case .journal(let journal): out = journal.start(lines: lines, since: since)
            }
            send(out, from: source, emit: emit)
        }
        guard let input else { return }
        let directories = sources.compactMap { source -> String? in
            if case .file(let file) = source { return file.directory }
            return nil
        }
        let watch = DirectoryWatch(directories: directories)
        let started = ContinuousClock.now
        var lastEvent = ContinuousClock.now
        while true {
            let round = ContinuousClock.now
            var sent = false
            for source in sources {
                let out: [FileLogSource.Output]
                switch source {
                case .file(let file): out = file.poll()
                case .journal(let journal): out = journal.poll()
                }
                if !out.isEmpty { sent = true }
                send(out, from: source, emit: emit)
            }
            if sent {
                lastEvent = .now
            } else if lastEvent.secondsElapsed >= JournalFollower.heartbeatInterval {
                // The controller takes a silent peer for dead: a quiet log must not look like a dead link.
                emit(.progress(.init(phase: .logs, done: Int64(started.secondsElapsed), total: nil,
                                     unit: "seconds")))
                lastEvent = .now
            }
            if watch.wait(timeout: Self.pollInterval, orInput: input) { return }
            let early = Self.minimumInterval - round.secondsElapsed
            if early > 0 { Pause.seconds(early) }
        }
    }

    private func send(_ out: [FileLogSource.Output], from source: Source, emit: (Event) -> Void) {
        for item in out {
            switch item {
            case .line(let line): emit(.log(.init(stream: source.stream, line: line, source: source.label)))
            case .note(let code, let message): emit(.warning(.init(code: code, message: message)))
            }
        }
    }
}
