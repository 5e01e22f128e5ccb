import Foundation
import Glibc
import ShipkeepSandbox

/// Helpers for the `logs`, `restart`/`stop`/`start` and gate tests.
extension VMSandbox {
    /// Adds keys to the sample app in agent.yml: `app` lines under the app (4 spaces), `service` lines under its
    /// `bot` service (8 spaces).
    func extendAgentConfig(app: [String] = [], service: [String] = []) throws {
        var text = try String(contentsOfFile: agentConfigPath, encoding: .utf8)
        let restart = "        restart: [\"./restart.sh\"]\n"
        guard text.contains(restart) else { throw SandboxError("agent.yml has no bot service to extend:\n\(text)") }
        text = text.replacingOccurrences(of: restart, with: restart + service.map { "        \($0)\n" }.joined())
        text += app.map { "    \($0)\n" }.joined()
        try text.write(toFile: agentConfigPath, atomically: true, encoding: .utf8)
        chmod(agentConfigPath, 0o644)
    }

    /// Writes an executable script into the deployed work tree (untracked: as an operator would put one there).
    func writeScript(_ name: String, _ body: String) throws {
        let path = appPath + "/" + name
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    /// Writes `content` to `relative` below the work tree.
    func writeFile(_ relative: String, _ content: [UInt8]) throws {
        let path = appPath + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(content)) else {
            throw SandboxError("cannot write \(path)")
        }
    }

    /// Appends `text` to `relative` below the work tree.
    func append(_ relative: String, _ text: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: appPath + "/" + relative))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// The bot's pid from its pid file.
    func botPID() -> Int32? {
        guard let text = try? String(contentsOfFile: appPath + "/bot.pid", encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// The events of `type` in a JSON Lines output.
func events(_ output: String, _ type: String) -> [[String: Any]] {
    jsonLines(output).filter { $0["type"] as? String == type }
}

/// The closing result's error code, if any.
func resultCode(_ output: String) -> String? {
    (jsonLines(output).last { $0["type"] as? String == "result" }?["error"] as? [String: Any])?["code"] as? String
}
