import Foundation
import Shared

/// The progress of one phase, built from the agent's `progress` events (files and bytes arrive as two events
/// with the same phase) and drawn as one line: a bar, percent, bytes, files and the rate since it started.
struct ProgressBar {
    let phase: String
    let started: Date
    var files: (done: Int64, total: Int64?)?
    var bytes: (done: Int64, total: Int64?)?
    /// Seconds spent so far in a phase that reports only a heartbeat (hooks, restarts, health retries).
    var seconds: Int64?

    init(phase: String, started: Date) {
        self.phase = phase
        self.started = started
    }

    /// Takes in one `progress` event of this phase.
    mutating func update(_ progress: Event.Progress) {
        switch progress.unit {
        case "files": files = (progress.done, progress.total)
        case "bytes": bytes = (progress.done, progress.total)
        case "seconds": seconds = progress.done
        default: break
        }
    }

    /// The fraction done, from bytes when their total is known, else from files.
    var fraction: Double? {
        for (done, total) in [bytes, files].compactMap({ $0 }) {
            if let total, total > 0 { return min(1, max(0, Double(done) / Double(total))) }
        }
        return nil
    }

    /// The line for a terminal: `snapshot [#####·····]  50%  50.0 MiB / 100.0 MiB  500/1000 files  80.0 MiB/s`.
    func line(now: Date, width: Int = 20) -> String {
        var parts = ["    " + phase.padding(toLength: 9, withPad: " ", startingAt: 0)]
        if let fraction {
            let filled = Int((fraction * Double(width)).rounded(.down))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: "·", count: width - filled)
                + "]" + String(format: " %3d%%", Int((fraction * 100).rounded(.down))))
        }
        parts.append(contentsOf: details(now: now))
        return parts.joined(separator: "  ")
    }

    /// The same facts as a plain log line, for output that is not a terminal.
    func plainLine(now: Date) -> String {
        let percent = fraction.map { ["\(Int(($0 * 100).rounded(.down)))%"] } ?? []
        return "    \(phase): " + (percent + details(now: now)).joined(separator: ", ")
    }

    private func details(now: Date) -> [String] {
        var parts: [String] = []
        if let bytes {
            parts.append(ByteCount.format(bytes.done) + (bytes.total.map { " / " + ByteCount.format($0) } ?? ""))
        }
        if let files { parts.append("\(files.done)" + (files.total.map { "/\($0)" } ?? "") + " files") }
        let elapsed = now.timeIntervalSince(started)
        if let bytes, elapsed >= 0.05, bytes.done > 0 {
            parts.append(ByteCount.format(Int64(Double(bytes.done) / elapsed)) + "/s")
        }
        if let seconds, files == nil, bytes == nil { parts.append("still working after \(seconds)s") }
        return parts
    }
}
