import Platform
import Shared

/// Asks agent.yml's `gate:` whether the app may be interrupted now (no open trade): exit 0 means go, anything
/// else busy. Asked again every ``interval`` seconds while it says busy, until `gate_timeout`; then the deploy
/// or restart is refused with nothing changed, quoting the gate's last line. What the gate prints is shown
/// escaped and cut (``LogLine``), never whole.
struct RestartGate {
    let app: AppConfig
    let gate: GateConfig

    /// Seconds between two questions.
    static let interval = 2.0
    /// The longest one question may take; a gate that hangs counts as busy.
    static let questionTimeout = 30.0
    /// The most characters of the gate's output quoted.
    static let quoteLength = 200

    /// agent.yml's gate for `app`, as a deploy and a restart or stop ask it: not at all without one; skipped
    /// with a `gate_ignored` warning when `ignore`; else waited for, each busy answer sent as a `gate` log line
    /// and a progress event of `phase`.
    ///
    /// - Returns: nil for go, else the refusal.
    static func ask(_ app: AppConfig, ignore: Bool, phase: DeployPhase, emit: (Event) -> Void) -> String? {
        guard let gate = app.gate else { return nil }
        if ignore {
            emit(.warning(.init(code: "gate_ignored", message: "--ignore-gate: the gate "
                + "(\(gate.command.joined(separator: " "))) was not asked")))
            return nil
        }
        return RestartGate(app: app, gate: gate).wait { waited, said in
            emit(.log(.init(stream: "stdout", line: "busy after \(waited) s of \(gate.timeout) s: \(said)", source: "gate")))
            emit(.progress(.init(phase: phase, done: Int64(waited), total: Int64(gate.timeout), unit: "seconds")))
        }
    }

    /// Waits for go. `onBusy` is called after each busy answer with the seconds waited so far and the gate's
    /// last line.
    ///
    /// - Returns: nil for go, else the refusal: "the gate said busy for 300 s: …".
    func wait(onBusy: (_ waited: Int, _ said: String) -> Void) -> String? {
        let started = ContinuousClock.now
        let deadline = started + .seconds(gate.timeout)
        var said = ""
        while true {
            let remaining = deadline.secondsLeft
            let answer = ask(timeout: min(Self.questionTimeout, max(1, remaining)))
            guard let busy = answer else { return nil }
            said = busy
            let waited = Int(started.secondsElapsed.rounded())
            if deadline.secondsLeft <= 0 { break }
            onBusy(waited, said)
            Pause.seconds(min(Self.interval, max(0, deadline.secondsLeft)))
        }
        return "the gate said busy for \(gate.timeout) s: \(said) — it is asked again at the next deploy or restart; "
            + "--ignore-gate goes ahead anyway"
    }

    /// One question: nil for go, else what it said (its last line, or how it ended).
    private func ask(timeout: Double) -> String? {
        do {
            let outcome = try ProcessRunner.run(gate.command, cwd: app.path, environment: ChildEnvironment.app(app),
                                                timeout: timeout)
            if outcome.succeeded { return nil }
            let lines = (outcome.stdout + "\n" + outcome.stderr).split(separator: "\n")
                .map { $0.trimming(while: \.isWhitespace) }.filter { !$0.isEmpty }
            let how = "(\(gate.command.joined(separator: " ")) \(outcome.summary))"
            guard let last = lines.last else { return how }
            return Self.quote(last) + " " + how
        } catch {
            return "\(error)"
        }
    }

    /// `text` escaped for a terminal and cut to ``quoteLength`` characters.
    static func quote(_ text: String) -> String {
        let inert = ControlCharacters.escaped(text)
        return inert.count > quoteLength ? String(inert.prefix(quoteLength)) + "…" : inert
    }
}
