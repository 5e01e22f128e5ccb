/// How a `download` carries its archive's bytes, named by the request and echoed by the `archive` event.
///
/// The wire carries the raw value. A request without one means ``chunks``, the only way agents before binary
/// frames send; such an agent ignores the field, so the controller asks for ``frames`` only when the agent's
/// `hello` lists ``frames``'s ``capability``, and reads whichever of the two arrives.
public enum DownloadFraming: String, CaseIterable, Codable, Sendable {
    /// `chunk` events: JSON lines with the bytes in base64 (4/3 of the archive on the wire, and a JSON string of
    /// up to 350 KB to write and parse per 256 KiB).
    case chunks = "chunks"
    /// `frame` events: a JSON line announcing N bytes, then exactly N raw bytes, then the next JSON line (see
    /// ``Event/Frame`` and ``EventReader``).
    case frames = "frames"

    /// The capability a `hello` reply lists when the agent can send this way (nil: every agent can).
    public var capability: String? {
        switch self {
        case .chunks: nil
        case .frames: "download.frames"
        }
    }

    /// The framing to ask an agent for whose `hello` listed `capabilities`: ``frames`` when it can send them,
    /// else ``chunks``, which every agent sends.
    public static func best(capabilities: [String]) -> DownloadFraming {
        allCases.last { $0.capability.map(capabilities.contains) ?? true } ?? .chunks
    }
}
