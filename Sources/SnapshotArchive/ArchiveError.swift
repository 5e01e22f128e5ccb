/// A tar, gzip or zstd stream that cannot be written or read as one.
public struct ArchiveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: String, Sendable {
        /// zlib refused the stream: not gzip, a bad checksum, or data after its end.
        case gzip
        /// zstd refused the stream: not zstd, a bad checksum, a window too large, or data after its end.
        case zstd
        /// A tar header or record is not what the format allows (or not what this reader supports).
        case tar
        /// The stream stops before the archive's end.
        case truncated
        /// An entry was written with more or fewer bytes than its header declared.
        case sizeMismatch = "size_mismatch"
    }

    /// What kind of failure this is.
    public let code: Code
    /// One line for a human.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
