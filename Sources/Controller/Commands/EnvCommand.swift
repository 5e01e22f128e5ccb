import ArgumentParser
import Foundation
import Shared
import Platform

/// `shipkeep env`: an app's secrets. Values come from stdin or `--from-env`, never from the command line, and
/// are never printed: only keys are.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "List, set or unset an app's secrets (values from stdin or --from-env, never printed).",
        discussion: """
            The agent keeps them in the app's env file on the VM (agent.yml env_file:, default STATE/env; mode \
            0600, outside the work tree) and gives them to hooks and command services; a systemd unit reads the \
            file with EnvironmentFile=. A change takes effect at the next restart (a deploy), or at once with \
            --restart.

            `set KEY` reads the value from all of stdin, without one trailing newline (from a terminal: one \
            line, not echoed), or from the environment variable --from-env names. A value is one line.

            Examples:
              shipkeep env prod list
              printf %s "$EXCHANGE_KEY" | shipkeep env prod set EXCHANGE_KEY
              shipkeep env prod set EXCHANGE_KEY --from-env EXCHANGE_KEY --restart
              shipkeep env prod unset OLD_KEY

            Exit status: 0 done; 1 refused (a bad key or value, an unsafe env file); 2 the restart of \
            --restart failed; 3 the VM could not be asked; 4 a deploy holds the lock (with --restart: the change \
            is written, and that deploy's restart applies it).
            """
    )

    @OptionGroup var target: TargetOptions

    @Argument(help: ArgumentHelp("list | set KEY | unset KEY", valueName: "action"))
    var words: [String] = []

    @Option(name: .customLong("from-env"), help: ArgumentHelp(
        "With set: take the value from this environment variable instead of stdin.", valueName: "VAR"))
    var fromEnv: String?

    @Flag(name: .long, help: "Restart the app's services once the change is written (and wait for their checks).")
    var restart = false

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    /// What was asked, and the TARGET left over (a TARGET is optional, so `list` may have landed in it).
    private func parsed() throws -> (action: Command.EnvAction, key: String?, target: String?) {
        let all = [target.target].compactMap { $0 } + words
        let usage = "say what to do: list, set KEY or unset KEY (after the TARGET)"
        if let last = all.last, last == "list" {
            guard all.count <= 2 else { throw ValidationError(usage) }
            return (.list, nil, all.dropLast().first)
        }
        guard all.count >= 2, let action = Command.EnvAction(rawValue: all[all.count - 2]), action != .list else {
            throw ValidationError(usage)
        }
        let rest = all.dropLast(2)
        guard rest.count <= 1 else { throw ValidationError(usage) }
        return (action, all[all.count - 1], rest.first)
    }

    func validate() throws {
        let (action, key, _) = try parsed()
        if let key, let refusal = EnvKey.refusal(key) { throw ValidationError(refusal) }
        if fromEnv != nil && action != .set { throw ValidationError("--from-env goes with set") }
        if restart && action == .list { throw ValidationError("--restart goes with set or unset") }
    }

    func run() throws {
        let (action, key, targetName) = try parsed()
        var options = target
        options.target = targetName
        let value = action == .set ? try readValue(for: key ?? "") : nil
        try AgentRequest(options: options, json: json).run({ resolved throws(ControllerError) in
            .env(Command.Env(app: try AgentRequest.requireApp(resolved), action: action, key: key, value: value,
                             restart: restart ? true : nil))
        }, human: { renderer, message in
            guard case .env(let keys) = message.event else { return renderer.render(message) }
            let inert = ControlCharacters.escaped
            guard action == .list else { return print("keys now: " + inert(keys.keys.joined(separator: ", "))) }
            print("\(keys.keys.count) secret(s) of \(inert(keys.app)) in \(inert(keys.file))")
            for name in keys.keys { print("  " + inert(name)) }
        })
    }

    /// The value to set: from `--from-env`, else all of stdin without one trailing newline, else (a terminal) one
    /// line typed without echo. Checked here, so a bad value fails before connecting.
    private func readValue(for key: String) throws -> String {
        let value: String
        if let fromEnv {
            guard let found = ProcessInfo.processInfo.environment[fromEnv] else {
                throw ValidationError("--from-env \(fromEnv): no such variable in the environment")
            }
            value = found
        } else if isatty(0) == 1 {
            value = try Self.readHidden(prompt: "value for \(key) (not echoed): ")
        } else {
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while bytes.count <= EnvKey.maxValueBytes + 2 {
                let count = read(0, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                bytes.append(contentsOf: buffer[0..<count])
            }
            // Nothing at all is a forgotten pipe, not an empty secret (which "\n" still sets).
            guard !bytes.isEmpty else {
                throw ValidationError("no value on stdin for \(key): pipe it in, or use --from-env VAR")
            }
            if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ValidationError("the value on stdin is not UTF-8 text")
            }
            value = text
        }
        if let refusal = EnvKey.valueRefusal(value) { throw ValidationError("\(key): \(refusal)") }
        return value
    }

    /// One line from the terminal with echo off.
    private static func readHidden(prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        let canHide = tcgetattr(0, &saved) == 0
        if canHide {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &quiet)
        }
        defer {
            if canHide { tcsetattr(0, TCSAFLUSH, &saved) }
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else { throw ValidationError("no value given on stdin") }
        return line
    }
}
