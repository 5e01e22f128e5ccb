import Platform

/// A test hook that makes fault injection exact instead of timing-based: if the file
/// `<state>/fault-pause-<phase>` exists when the worker enters that phase, the worker removes it and stops
/// itself (SIGSTOP) right after journaling the phase's start, so a test can `kill -9` it in precisely that
/// phase. Only the agent's user can write the state dir (0700), so this grants nobody anything.
enum FaultPoint {
    static func pauseIfRequested(state: StateDirectory, phase: String) {
        let marker = state.path + "/fault-pause-" + phase
        guard unlink(marker) == 0 else { return }
        raise(SIGSTOP)
    }
}
