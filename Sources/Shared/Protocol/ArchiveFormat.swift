/// The format of a `download`'s archive, named by the request and echoed by the `archive` event.
///
/// The wire carries the raw value. A request without one means `tar+gzip`, which is all that agents before
/// zstd could send; such an agent ignores the field, so the controller checks the `download.zstd` capability
/// before it asks for zstd, and the `archive` event's format after.
public enum ArchiveFormat: String, CaseIterable, Codable, Sendable {
    /// A POSIX pax tar in one gzip stream (`.tar.gz`).
    case tarGzip = "tar+gzip"
    /// A POSIX pax tar in one zstd frame with its checksum (`.tar.zst`); the default.
    case tarZstd = "tar+zstd"

    /// The capability a `hello` reply lists when the agent can send this format (nil: every agent can).
    public var capability: String? {
        switch self {
        case .tarGzip: nil
        case .tarZstd: "download.zstd"
        }
    }

    /// The usual file name extension.
    public var fileExtension: String {
        switch self {
        case .tarGzip: ".tar.gz"
        case .tarZstd: ".tar.zst"
        }
    }

    /// The short name the command line takes (`--format gz|zst`).
    public var shortName: String {
        switch self {
        case .tarGzip: "gz"
        case .tarZstd: "zst"
        }
    }

    /// The format a file name's extension names: `.tar.gz`/`.tgz` or `.tar.zst`/`.tzst`; nil for any other.
    public init?(fileName: String) {
        let name = fileName.lowercased()
        if name.hasSuffix(".tar.gz") || name.hasSuffix(".tgz") {
            self = .tarGzip
        } else if name.hasSuffix(".tar.zst") || name.hasSuffix(".tzst") {
            self = .tarZstd
        } else {
            return nil
        }
    }
}
