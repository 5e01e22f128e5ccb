import Shared
import Platform

/// What a command service's `restart:` (and `stop:`, `start:`) printed, kept in the app's state dir so that
/// `shipkeep logs --service NAME` can show it: `<state>/output/NAME.log`, one line per output line
/// (`2026-12-01T11:00:00.123Z stdout bot restarted as pid 4242`), each cut at ``LogLine/maxBytes``. Bounded:
/// past ``rotateAt`` bytes the file is renamed to `NAME.log.1` (replacing the older one) and a new one begun, so
/// at most twice that is kept.
///
/// Only what the agent runs is captured: a bot the restart script starts in the background writes wherever
/// the script sends it (the sample's `logs/bot.log`, a data file `shipkeep logs` reads too).
struct ServiceOutput {
    let state: StateDirectory
    let service: String

    /// The size at which the file rotates.
    static let rotateAt: Int64 = 1 << 20

    /// The directory of every service's file.
    var directory: String { state.path + "/output" }
    /// The file's name in ``directory``: the service name, which agent.yml keeps plain, or a safe stand-in.
    var fileName: String {
        let plain = AppConfig.isValidName(service) ? service : "service-" + String(service.utf8.reduce(5381) {
            ($0 &* 33) &+ UInt64($1)
        }, radix: 16)
        return plain + ".log"
    }

    /// Appends one line of `stream` output, stamped with the time.
    func append(stream: String, line: String) {
        let text = Self.timestamp(Timestamp.now()) + " " + stream + " " + LogLine.cut(line) + "\n"
        do {
            try FileSystem.makeDirectories(directory)
            let path = directory + "/" + fileName
            if let info = try FileSystem.lstatIfExists(path), Int64(info.st_size) >= Self.rotateAt {
                rename(path, path + ".1")
            }
            let fd = try FileSystem.open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600)
            defer { close(fd) }
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        } catch {
            // Losing a line of captured output must not fail a restart.
        }
    }

    /// `2026-12-01T11:00:00.123Z`: fixed width, UTC, so lines sort and compare as text.
    static func timestamp(_ date: Timestamp) -> String {
        let interval = date.timeIntervalSince1970
        let millis = Int((interval - interval.rounded(.down)) * 1000)
        let digits = String(millis)
        return String(date.iso8601.dropLast()) + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }
}
