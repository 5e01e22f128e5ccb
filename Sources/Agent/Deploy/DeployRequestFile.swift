import Shared
import Platform

/// The deploy request `serve` hands its detached worker: `<state>/deploys/<id>.request`, 0600.
///
/// Not in the worker's argv, which every local user can read in `/proc/PID/cmdline`: the request names the
/// deploy id (which becomes part of file names) and whatever the controller sent. The worker reads it back
/// only from a regular file of its own user that nobody else can read or write, opened without following a
/// link; it stays beside the journal, and is pruned with it.
enum DeployRequestFile {
    /// The longest request read back, as for a protocol line.
    static let sizeLimit = WireProtocol.maxLineBytes

    /// Writes the request of `deploy` (atomically, 0600).
    ///
    /// - Throws: ``FileSystemError``.
    static func write(_ request: Command.Deploy, deploy: String, state: StateDirectory) throws {
        try FileSystem.makeDirectories(state.deploysDir)
        let line = WireCodec.encode(Request(id: deploy, command: .deploy(request)))
        try FileSystem.writeAtomically(line, to: state.request(deploy), mode: 0o600)
    }

    /// Reads back the request of `deploy`, refusing a file that is not private to the agent's user.
    ///
    /// - Throws: ``FileSystemError``, ``PermissionCheck/Unsafe``, or a protocol error when it is not a deploy.
    static func read(deploy: String, state: StateDirectory) throws -> Command.Deploy {
        let path = state.request(deploy)
        let fd = try FileSystem.open(path, O_RDONLY | O_NOFOLLOW)
        defer { close(fd) }
        try PermissionCheck.checkPrivate(fd: fd, path: path)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count <= sizeLimit {
            let count = Platform.read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw FileSystemError("read", path) }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        let decoded = bytes.count <= sizeLimit ? try WireCodec.decodeRequest(bytes) : nil
        guard let decoded, decoded.id == deploy, case .deploy(let request) = decoded.command else {
            throw ProtocolError(.invalidMessage, "\(path) does not hold the request of deploy \(deploy)")
        }
        return request
    }
}
