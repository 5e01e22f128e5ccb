import FoundationEssentials
import Shared
import Platform

/// Reads a deploy's journal as it grows and hands each event on, until the deploy's `result` — or until the
/// worker is gone without one (it was killed), in which case the caller recovers the app.
struct JournalFollower {
    let path: String
    /// Replay starts at this sequence number.
    var fromSeq = 1
    /// How often the file is looked at while nothing new has arrived and no write woke the follower (a write
    /// to the journal's directory wakes it at once; this bounds how late the writer's exit is noticed).
    static let pollInterval = 0.05
    /// After this long without an event, `onIdle` is called (the relay sends a heartbeat so that the
    /// controller, which gives up on a silent peer, knows the deploy is alive through a long silent hook).
    static let heartbeatInterval = 5.0

    /// Follows the journal; `isRunning` says whether more events can still come.
    ///
    /// - Returns: the result event, or nil when the writer stopped without one.
    func follow(isRunning: () -> Bool, onIdle: (Double) -> Void = { _ in },
                forward: (EventMessage) -> Void) -> EventMessage? {
        var lastEvent = Date()
        var offset: off_t = 0
        var framer = LineFramer(limit: 4 << 20)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var fd: Int32 = -1
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
                        guard let message = try? WireCodec.decodeEvent(line), message.seq >= fromSeq else { continue }
                        forward(message)
                        lastEvent = Date()
                        if case .result = message.event { return message }
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
                if Date().timeIntervalSince(lastEvent) >= Self.heartbeatInterval {
                    onIdle(Date().timeIntervalSince(lastEvent))
                    lastEvent = Date()
                }
                watch.wait(timeout: Self.pollInterval)
            }
        }
    }
}
