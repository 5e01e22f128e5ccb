import Foundation
import Shared
import Platform

/// Where human output goes and whether it may be coloured: only on a terminal, and never with `NO_COLOR`.
struct Terminal {
    /// Whether ANSI colours are used on stdout.
    let colors: Bool
    /// Whether stdout is a terminal (live progress lines are drawn only there).
    var interactive = false

    /// Decides from the environment and whether stdout is a terminal.
    static func detect(environment: [String: String] = ProcessInfo.processInfo.environment) -> Terminal {
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let tty = isatty(1) == 1 && environment["TERM"] != "dumb"
        return Terminal(colors: tty && !noColor, interactive: tty)
    }

    /// `text` in the colour that goes with `health`.
    func paint(_ text: String, _ health: Health) -> String {
        guard colors else { return text }
        let code = switch health {
        case .ok: "32"
        case .warning: "33"
        case .critical: "31"
        case .unknown: "35"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// `text` dimmed.
    func dim(_ text: String) -> String { colors ? "\u{1B}[2m\(text)\u{1B}[0m" : text }

    /// Writes one line to stderr, made inert with ``ControlCharacters/escaped(_:)``: these lines carry no colour
    /// of ours, and often an agent's message or output.
    static func error(_ line: String) {
        fflush(nil)  // what was printed before the error stays before it when both go to one place
        FileHandle.standardError.write(Data((ControlCharacters.escaped(line) + "\n").utf8))
    }
}
