import Platform

/// Reading a configuration file whole, with the C library's reason when it cannot be read.
@usableFromInline
enum ConfigFile {
    /// Bigger than any agent.yml or shipkeep.yml; a larger file is refused rather than read into memory.
    static let maxBytes = 4 << 20

    /// The text of `file`.
    ///
    /// - Throws: ``ConfigError`` saying why the file cannot be read.
    static func read(_ file: String) throws(ConfigError) -> String {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(file, String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = Platform.read(fd, &buffer, buffer.count)
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(file, String(cString: strerror(errno)))
            }
            bytes += buffer[..<count]
            guard bytes.count <= maxBytes else { throw failure(file, "larger than \(maxBytes >> 20) MiB") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw failure(file, "not UTF-8 text") }
        return text
    }

    /// The current user's home: `HOME`, else the password database's entry.
    @usableFromInline
    static func home() -> String {
        if let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty { return home }
        if let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir { return String(cString: dir) }
        return "/"
    }

    private static func failure(_ file: String, _ reason: String) -> ConfigError {
        ConfigError(file: file, line: nil, key: "", message: "cannot read the file (\(reason))")
    }
}
