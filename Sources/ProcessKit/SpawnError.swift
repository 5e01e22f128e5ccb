import Platform

/// A child that could not be started: its program is missing or not executable, its directory is missing, or a
/// descriptor for its stdio could not be made.
public struct SpawnError: Error, CustomStringConvertible, Sendable {
    /// The program, as argv named it.
    public var program: String
    /// The `errno` of the failed call.
    public var errno: Int32
    /// What failed, when it was not the start itself: "not found in PATH (/usr/bin:/bin)", "cannot open …".
    public var detail: String?

    /// Creates an error.
    public init(program: String, errno: Int32, detail: String? = nil) {
        self.program = program
        self.errno = errno
        self.detail = detail
    }

    /// One line: "cannot run git: No such file or directory".
    public var description: String {
        "cannot run \(program): \(detail ?? String(cString: strerror(errno)))"
    }
}
