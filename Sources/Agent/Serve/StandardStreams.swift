import Platform

/// Blocking reads from stdin and whole-line writes to stdout, the exec channel sshd gives the agent.
enum StandardStreams {
    /// Reads what is available from stdin; an empty result means end of input.
    static func read() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Platform.read(0, &buffer, buffer.count)
            if count >= 0 { return Array(buffer[0..<count]) }
            if errno != EINTR { return [] }
        }
    }

    /// Writes `bytes` and a newline to stdout. Returns false when the reader is gone.
    @discardableResult
    static func writeLine(_ bytes: [UInt8]) -> Bool {
        write(bytes + [UInt8(ascii: "\n")])
    }

    /// Writes `bytes` to stdout, all of them. Returns false when the reader is gone.
    @discardableResult
    static func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Platform.write(1, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    /// Writes a diagnostic line to stderr (never to stdout, which carries only events).
    static func diagnose(_ message: String) {
        let bytes = Array("shipkeep-agent: \(message)\n".utf8)
        _ = bytes.withUnsafeBytes { Platform.write(2, $0.baseAddress, $0.count) }
    }
}
