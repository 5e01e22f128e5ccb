/// This machine's name, as `hostname` prints it (`gethostname(2)`), for reports and the history: what Foundation's
/// `ProcessInfo.hostName` answered on Linux, without linking Foundation.
public enum HostName {
    /// The host name, or "localhost" when the system cannot say.
    public static var current: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
