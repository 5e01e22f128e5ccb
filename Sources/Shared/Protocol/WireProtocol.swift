/// Constants of the shipkeep wire protocol (JSON Lines over an SSH exec channel).
public enum WireProtocol {
    /// The protocol version this build speaks. Every line carries it as `"v"`.
    public static let version = 1
    /// The largest line either side accepts, newline excluded. Longer lines are a protocol error.
    public static let maxLineBytes = 1 << 20
    /// The version of shipkeep itself (controller and agent are released together).
    public static let toolVersion = "0.1.0"
}
