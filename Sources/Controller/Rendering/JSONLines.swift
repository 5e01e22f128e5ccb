import Foundation
import Shared

/// `--json` output: JSON Lines on stdout, one object per line with a `type`; the last line is always the
/// controller's own `result`.
enum JSONLines {
    /// Writes an agent event as it came over the wire.
    static func emit(_ message: EventMessage) {
        write(WireCodec.encode(message))
    }

    /// The closing line.
    struct Result: Encodable {
        var v = WireProtocol.version
        var type = "result"
        var ok: Bool
        var exitCode: Int32
        var target: String?
        var health: Health?
        var error: WireError?
        var deploy: DeploySummary?
        var install: Installer.Outcome?
        var download: SnapshotDownload.Outcome?
        var hosts: [FleetDeploy.HostResult]?
        /// The command that follows a deploy still running on the VM (an interrupted controller's last line).
        var attach: String?
    }

    /// Writes the closing `result` line.
    static func emit(_ result: Result) {
        write(WireCodec.encode(result))
    }

    /// Writes one fleet host's line (`"type":"host"`).
    static func emit(_ host: FleetDeploy.HostResult) {
        write(WireCodec.encode(host))
    }

    /// Writes the closing `result` line of `shipkeep install`.
    static func emitInstall(ok: Bool, target: String, outcome: Installer.Outcome?, error: ControllerError?) {
        emit(Result(ok: ok, exitCode: error?.exitCode ?? 0, target: target,
                    error: error.map { WireError(code: $0.wireCode, message: $0.message) }, install: outcome))
    }

    private static func write(_ bytes: [UInt8]) {
        LiveOutput.write(bytes + [UInt8(ascii: "\n")])
    }
}
