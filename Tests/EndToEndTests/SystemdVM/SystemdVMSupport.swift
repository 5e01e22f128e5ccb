import Foundation
import Testing
import ShipkeepSandbox

/// Boots a fresh ``SystemdVM`` for one test and removes it (VM, veth, cgroups, files) afterwards, also when the
/// test fails.
func withSystemdVM<T>(scope: SystemdVM.Scope, startLimit: Bool = false, _ body: (SystemdVM) throws -> T) throws -> T {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("shipkeep-vm-\(UUID().uuidString)").path
    let vm = try SystemdVM(root: root, scope: scope, startLimit: startLimit)
    defer {
        vm.stop()
        try? FileManager.default.removeItem(atPath: root)
    }
    try vm.sandbox.fillData(files: 20, bytesEach: 64 * 1024)
    try vm.boot()
    return try body(vm)
}

extension SystemdVM {
    /// Stops `bot.service` and counts the bot's lines missing or duplicated (0: every seq from 1 on, once each).
    func linesLost(sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let stopped = try systemctl(["stop", "bot.service"])
        #expect(stopped.status == 0, "systemctl stop: \(stopped.stderr)", sourceLocation: sourceLocation)
        return try Faults.linesLost(sandbox, sourceLocation: sourceLocation)
    }

    /// Waits until the bot has written `count` more lines.
    func awaitBotLines(_ count: Int = 200) throws {
        let start = (try? sandbox.botSequence().count) ?? 0
        try waitUntil("the bot writes \(count) lines", timeout: 30) {
            ((try? sandbox.botSequence().count) ?? 0) >= start + count
        }
    }

    /// The version in the bot's newest line (`v1`…), or "nothing" when it wrote none.
    func botVersion() throws -> String {
        let text = try String(contentsOfFile: sandbox.appPath + "/paper_trading_outputs/signals.jsonl", encoding: .utf8)
        guard let line = text.split(separator: "\n").last(where: { $0.hasSuffix("}") }),
              let range = line.range(of: "\"version\":\"") else { return "nothing" }
        return String(line[range.upperBound...].prefix { $0 != "\"" })
    }

    /// The state letter of `pid` inside the VM (R, S, T, Z…), or nil when it does not exist there.
    func processState(_ pid: Int) throws -> String? {
        let stat = try exec(["cat", "/proc/\(pid)/stat"])
        guard stat.status == 0, let close = stat.stdout.lastIndex(of: ")") else { return nil }
        return stat.stdout[stat.stdout.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
    }
}
