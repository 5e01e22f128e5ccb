import ArgumentParser
import Foundation
import Shared

/// `shipkeep history`: what was done to an app, newest first.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Past deploys, rollbacks, restores, recoveries, snapshots, restarts and secret changes, newest "
            + "first.",
        discussion: """
            Each entry: when it started, what it was, its outcome and duration, the commit before → after (or the \
            service restarted), the snapshot it took or restored, and who asked (the controller's user@host or CI \
            job). Kept on the VM in STATE/history.jsonl (the newest 1000), with the deploys whose journals are \
            still kept. --json prints one {"type":"history",…} line per entry, then the result.
            """
    )

    @OptionGroup var target: TargetOptions

    @Option(name: .customShort("n"), help: ArgumentHelp("How many entries, newest first (1 to 1000).", valueName: "N"))
    var count = 20

    @Flag(name: .long, help: "JSON Lines on stdout; the last line is {\"type\":\"result\",\"ok\":…}.")
    var json = false

    func validate() throws {
        if !(1...1000).contains(count) { throw ValidationError("-n must be 1 to 1000, got \(count)") }
    }

    func run() throws {
        var shown = 0
        var appName = target.app ?? "the app"
        try AgentRequest(options: target, json: json).run({ resolved throws(ControllerError) in
            appName = try AgentRequest.requireApp(resolved)
            return .history(Command.History(app: appName, limit: count))
        }, human: { renderer, message in
            guard case .history(let record) = message.event else { return renderer.render(message) }
            if shown == 0 { print(HistoryTable.header) }
            shown += 1
            for line in HistoryTable.lines(record) { print(line) }
        }, after: { result in
            if result.ok && shown == 0 { print("no history of \(ControlCharacters.escaped(appName)) yet") }
        })
    }
}

/// The human table of `history`: fixed columns, then who; the detail of anything but a plain success below.
enum HistoryTable {
    static let header = row("TIME", "ACTION", "OUTCOME", "DURATION", "COMMIT (BEFORE → AFTER) / SERVICE", "SNAPSHOT",
                            "WHO")

    static func lines(_ record: HistoryRecord) -> [String] {
        let inert = ControlCharacters.escaped
        let time = record.time.iso8601
        let short = { (commit: String?) in commit.map { inert(String($0.prefix(12))) } ?? "?" }
        let what = record.before != nil || record.after != nil
            ? "\(short(record.before)) → \(short(record.after))"
            : record.service.map { "service " + inert($0) } ?? "-"
        let duration = record.duration.map { String(format: "%.1fs", $0) } ?? "-"
        var lines = [row(time, inert(record.action.rawValue), inert(record.outcome.rawValue), duration, what,
                         inert(record.snapshot ?? "-"), inert(record.who ?? "-"))]
        if let detail = record.detail { lines.append("    " + inert(detail)) }
        return lines
    }

    private static func row(_ time: String, _ action: String, _ outcome: String, _ duration: String, _ what: String,
                            _ snapshot: String, _ who: String) -> String {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text.padding(toLength: width, withPad: " ", startingAt: 0)
        }
        let right = String(repeating: " ", count: max(0, 8 - duration.count)) + duration
        return pad(time, 21) + pad(action, 9) + pad(outcome, 12) + pad(right, 10) + pad(what, 35) + pad(snapshot, 27)
            + who
    }
}
