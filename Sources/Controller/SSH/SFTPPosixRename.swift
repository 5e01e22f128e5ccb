import CLibSSH2

/// A second SFTP channel, spoken by hand for the one request libssh2 1.10 lacks: OpenSSH's
/// `posix-rename@openssh.com`, a rename(2) that atomically replaces the destination.
///
/// Only the version exchange and that request are implemented (SFTP v3 packets: a 4-byte length, a type
/// byte, then the payload, all integers big-endian).
final class SFTPPosixRename {
    /// Whether the server announced the extension in its version packet.
    private(set) var isSupported = false
    private let channel: SSHChannel
    private let readTimeout: Double
    private var received: [UInt8] = []
    private var nextID: UInt32 = 1

    private static let extensionName = "posix-rename@openssh.com"
    private static let typeInit: UInt8 = 1
    private static let typeVersion: UInt8 = 2
    private static let typeStatus: UInt8 = 101
    private static let typeExtended: UInt8 = 200
    /// Far above any version or status packet; a longer length means the peer is not an SFTP server.
    private static let packetLimit = 256 * 1024

    /// Opens the channel and reads the server's extensions.
    /// - Throws: `SSHError` `.sftp` when the peer does not speak SFTP, `.channel`, `.timeout` or `.io`.
    init(session: SSHSession, readTimeout: Double) throws(SSHError) {
        self.readTimeout = readTimeout
        channel = try SSHChannel(session: session, request: .subsystem("sftp"), readTimeout: readTimeout)
        try channel.write(Self.packet(type: Self.typeInit, [0, 0, 0, 3]))
        let (type, payload) = try readPacket()
        guard type == Self.typeVersion, payload.count >= 4 else {
            throw SSHError(.sftp, "the SFTP server on \(session.endpoint) answered the version request with packet "
                + "type \(type); check its Subsystem sftp line")
        }
        var reader = Reader(payload, offset: 4)
        var names: [String] = []
        while let name = reader.string(), reader.string() != nil {
            names.append(String(decoding: name, as: UTF8.self))
        }
        isSupported = names.contains(Self.extensionName)
    }

    /// Renames `source` to `destination`, replacing it atomically if it exists.
    /// - Returns: The server's status code (`LIBSSH2_FX_OK` on success) and its message.
    /// - Throws: `SSHError` when the channel fails or the answer is not a status for this request.
    func rename(_ source: String, to destination: String) throws(SSHError) -> (status: UInt, message: String) {
        let id = nextID
        nextID &+= 1
        var payload = Self.uint32(id)
        for text in [Self.extensionName, source, destination] {
            payload += Self.uint32(UInt32(text.utf8.count)) + Array(text.utf8)
        }
        try channel.write(Self.packet(type: Self.typeExtended, payload))
        let (type, answer) = try readPacket()
        var reader = Reader(answer, offset: 0)
        guard type == Self.typeStatus, reader.uint32() == id, let status = reader.uint32() else {
            throw SSHError(.sftp, "the SFTP server answered the rename of \(source) with packet type \(type), not a "
                + "status; retry, or report this server")
        }
        let message = reader.string().map { String(decoding: $0, as: UTF8.self) } ?? ""
        return (UInt(status), message)
    }

    // MARK: - Packets

    private func readPacket() throws(SSHError) -> (type: UInt8, payload: [UInt8]) {
        while true {
            if received.count >= 4 {
                var reader = Reader(received, offset: 0)
                let length = Int(reader.uint32() ?? 0)
                guard (1...Self.packetLimit).contains(length) else {
                    throw SSHError(.sftp, "the SFTP channel sent a packet of \(length) bytes, which no SFTP server "
                        + "sends; is a forced command answering instead?")
                }
                if received.count >= 4 + length {
                    let packet = Array(received[4..<(4 + length)])
                    received.removeFirst(4 + length)
                    return (packet[0], Array(packet.dropFirst()))
                }
            }
            for event in try channel.read(timeout: readTimeout) {
                switch event {
                case .stdout(let bytes):
                    received += bytes
                case .stderr:
                    break
                case .eof:
                    throw SSHError(.sftp, "the SFTP server closed its channel in the middle of a request; retry")
                }
            }
        }
    }

    private static func packet(type: UInt8, _ payload: [UInt8]) -> [UInt8] {
        uint32(UInt32(payload.count + 1)) + [type] + payload
    }

    private static func uint32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    /// Reads big-endian integers and length-prefixed strings; nil once the data runs out.
    private struct Reader {
        let bytes: [UInt8]
        var offset: Int

        init(_ bytes: [UInt8], offset: Int) {
            self.bytes = bytes
            self.offset = offset
        }

        mutating func uint32() -> UInt32? {
            guard offset + 4 <= bytes.count else { return nil }
            defer { offset += 4 }
            return bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func string() -> [UInt8]? {
            guard let length = uint32().map(Int.init), offset + length <= bytes.count else { return nil }
            defer { offset += length }
            return Array(bytes[offset..<(offset + length)])
        }
    }
}
