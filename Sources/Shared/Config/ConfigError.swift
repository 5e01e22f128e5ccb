/// A configuration file that cannot be used, with the file, line and key at fault.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file read.
    public var file: String
    /// The 1-based line of the offending key or value, when known.
    public var line: Int?
    /// The dotted path of the offending key, e.g. `apps.bots.snapshots.keep`; empty for the whole file.
    public var key: String
    /// What is wrong and, where it helps, what is expected instead.
    public var message: String

    /// Creates an error.
    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `file:line: key: message`, one line.
    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}
