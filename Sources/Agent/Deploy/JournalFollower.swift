import Shared
import Platform

/// Reads a deploy's journal as it grows and hands each event on, until the deploy's `result` — or until the
/// worker is gone without one (it was killed), in which case the caller recovers the app.
struct JournalFollower {
    let path: String
    /// Replay starts at this sequence number (inclusive, as `attach`'s `fromSeq`).
    var fromSeq = 1
    /// How often the file is looked at while nothing new has arrived and no write woke the follower (a write
    /// to the journal's directory wakes it at once; this bounds how late the writer's exit is noticed).
    static let pollInterval = 0.05
    /// The agent's heartbeat: after this long without an event the worker journals a `progress` event (see
    /// ``JournalHeartbeat``), so that the controller, which gives up on a silent peer, knows the deploy is
    /// alive through a long silent hook.
    static let heartbeatInterval = 5.0

    /// Follows the journal and hands each event on as it is, in order and once: every event whose `seq` is
    /// at least ``fromSeq`` (a line that does not decode, a torn one, is skipped; so is a `seq` not above the
    /// last one handed on, which a well-formed journal never has) — or, when the deploy's result comes before
    /// ``fromSeq``, that result alone. `isRunning` says whether more can still come.
    ///
    /// - Returns: the result event, or nil when the writer stopped without one.
    func follow(isRunning: () -> Bool, forward: (EventMessage) -> Void) -> EventMessage? {
        var offset: off_t = 0
        var framer = LineFramer(limit: 4 << 20)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var fd: Int32 = -1
        var last = fromSeq - 1
        defer { if fd >= 0 { close(fd) } }
        let watch = DirectoryWatch(directory: PathName.parent(of: path))
        while true {
            if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
            var progressed = false
            if fd >= 0 {
                while true {
                    let count = pread(fd, &buffer, buffer.count, offset)
                    guard count > 0 else { break }
                    offset += off_t(count)
                    progressed = true
                    for line in (try? framer.append(Array(buffer[0..<count]))) ?? [] {
                        guard let message = try? WireCodec.decodeEvent(line) else { continue }
                        if message.seq > last {
                            last = message.seq
                            forward(message)
                            if message.isResult { return message }
                        } else if message.isResult && message.seq < fromSeq {
                            // The deploy ended before `fromSeq`: its result alone ends the replay (every request
                            // ends with one), under its own number.
                            forward(message)
                            return message
                        }
                    }
                }
            }
            if !progressed {
                // Checked after an empty read, and then read once more: nothing the writer wrote before it
                // stopped can be missed.
                if !isRunning() {
                    if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
                    if fd >= 0, pread(fd, &buffer, 1, offset) > 0 { continue }
                    return nil
                }
                watch.wait(timeout: Self.pollInterval)
            }
        }
    }
}
