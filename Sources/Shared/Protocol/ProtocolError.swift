/// A violation of the wire protocol: a line that cannot be accepted.
///
/// The agent answers every one of these with a `result` event carrying `code` and `message`, then exits
/// non-zero; it never crashes on input.
public struct ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of violation this is; its raw value is the `error.code` sent on the wire.
    public enum Code: String, Sendable, Codable {
        /// The line is not a JSON object.
        case malformed = "malformed"
        /// The line is longer than ``WireProtocol/maxLineBytes``.
        case lineTooLong = "line_too_long"
        /// `"v"` is missing or not a version this side speaks.
        case unsupportedVersion = "unsupported_version"
        /// `"type"` names no message this side knows.
        case unknownType = "unknown_type"
        /// The message has the right type but a field is missing or has the wrong shape.
        case invalidMessage = "invalid_message"
        /// The message is valid but not allowed here (e.g. a command before `hello`).
        case unexpected = "unexpected"
        /// A string in the request holds a control character (C0, DEL or C1, see ``ControlCharacters``): the
        /// agent stores and echoes what clients send, and would pass a terminal escape sequence on.
        case controlCharacter = "control_character"
    }

    /// What kind of violation this is.
    public let code: Code
    /// One line for a human, saying what was wrong.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`, one line.
    public var description: String { "\(code.rawValue): \(message)" }
}

extension ProtocolError.Code {
    /// The code a `result` carries for this violation.
    public var wire: ErrorCode { ErrorCode(rawValue: rawValue) }
}
