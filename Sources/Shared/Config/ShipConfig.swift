/// Whether code may be shipped over the SSH session for an app (`ship:` and `ship_max_bytes:` in agent.yml).
///
/// A shipped commit need not exist on any git host: whoever holds the deploy key picks the code. So it is off
/// unless agent.yml turns it on for the app, and `require_signed` still applies to what is shipped.
public struct ShipConfig: Equatable, Sendable {
    /// `ship: true`: `deploy --ship` is accepted.
    public var allowed: Bool
    /// The largest bundle accepted, in bytes; a bigger one is refused before it is written anywhere.
    public var maxBytes: Int64

    /// 512 MiB: a repository's whole history for most apps, far less than a VM's free disk.
    public static let defaultMaxBytes: Int64 = 512 << 20

    /// Settings; see the properties.
    public init(allowed: Bool = false, maxBytes: Int64 = ShipConfig.defaultMaxBytes) {
        self.allowed = allowed
        self.maxBytes = maxBytes
    }
}
