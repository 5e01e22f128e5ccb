import Foundation
import Shared
import Platform

extension AgentSession {
    /// Sends the file at `path` as the `ship_chunk` requests of request `id`, in chunks of at most
    /// `Event.Chunk.maxBytes` (base64 keeps each line far below the line limit). The agent answers none of them
    /// on its own: the deploy's events follow once it has them all.
    ///
    /// `progress` gets the bytes sent so far after each chunk.
    ///
    /// - Throws: ``ControllerError``: `.local` when the file cannot be read, or as ``send(_:)``.
    func sendBundle(_ path: String, id: String, progress: (Int64) -> Void = { _ in }) throws(ControllerError) {
        let fd = Platform.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ControllerError(.local, "cannot read the bundle \(path): \(String(cString: strerror(errno)))")
        }
        defer { Platform.close(fd) }
        var buffer = [UInt8](repeating: 0, count: Event.Chunk.maxBytes)
        var sent: Int64 = 0
        while true {
            let count = Platform.read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw ControllerError(.local, "cannot read the bundle \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return }
            try send(Request(id: id, command: .shipChunk(Event.Chunk(data: Array(buffer[0..<count])))))
            sent += Int64(count)
            progress(sent)
        }
    }
}
